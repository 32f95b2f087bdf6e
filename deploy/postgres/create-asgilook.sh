#!/bin/sh
# Run once by the postgres image when its data folder is new (docker-entrypoint-initdb.d): the role the
# instances connect as is no superuser and owns only its own database. Its password comes from the
# secrets volume that deploy/docker-compose.yml's `init` service filled; it never appears in a file here.
set -eu
password=$(cat /secrets/asgilook-db.password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE asgilook LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$password';
CREATE DATABASE asgilook OWNER asgilook;
REVOKE ALL ON DATABASE asgilook FROM PUBLIC;
SQL
