using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Asgilook.Configuration;

namespace Asgilook.Tests;

/// <summary>
/// What <c>deploy/</c> holds: the cluster script run for real, nginx's own refusals, and the Docker
/// topology kept consistent with the script and with Asgilook's limits.
/// </summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed partial class DeployTests(PostgresServer postgres, RedisCacheBackend redis) : IClassFixture<PostgresServer>, IClassFixture<RedisCacheBackend>
{
    private static readonly string Deploy = Path.Combine(Repository.Root, "deploy");

    [Fact]
    public async Task ClusterScriptStartsInstancesBehindNginxAndCleansUpWhenStopped()
    {
        var port = Loopback.FreePorts(3);
        var script = await ClusterScript.StartAsync(port);
        var (folder, output) = (script.Folder, script.Output);
        try
        {
            Assert.True(script.Started, $"the cluster did not start:\n{output}\n{await script.ErrorsAsync()}");
            using var nginx = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var posted = await nginx.PostImageAsync(TestImages.RandomEllipses());
            foreach (var instance in new[] { port + 1, port + 2 })
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{instance}") };
                var listed = await client.GetFromJsonAsync<JsonElement>("/images");
                Assert.Equal(posted.GetProperty("id").GetString(), Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
                using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{instance + 100}") };
                var ready = await management.GetFromJsonAsync<JsonElement>("/health/ready");
                Assert.StartsWith("PostgreSQL at 127.0.0.1", ready.GetProperty("checks").GetProperty("catalog").GetProperty("description").GetString());
                Assert.StartsWith("Redis at 127.0.0.1", ready.GetProperty("checks").GetProperty("cache").GetProperty("description").GetString());
                Assert.Contains("asgilook_image_work_capacity", await management.GetStringAsync("/metrics"));
                using var publicMetrics = await client.GetAsync("/metrics");
                Assert.Equal(HttpStatusCode.NotFound, publicMetrics.StatusCode);
            }

            using (var metricsThroughNginx = await nginx.GetAsync("/metrics"))
            {
                Assert.Equal(HttpStatusCode.NotFound, metricsThroughNginx.StatusCode);
            }

            var environment = await File.ReadAllTextAsync(Path.Combine(folder, "cluster.env"));
            Assert.Contains($"URL=http://127.0.0.1:{port}", environment);
            Assert.Contains($"INSTANCE_PORTS=\"{port + 1} {port + 2}\"", environment);
            Assert.Contains($"MANAGEMENT_PORTS=\"{port + 101} {port + 102}\"", environment);
            var adminKey = AdminKey().Match(environment).Groups[1].Value;
            Assert.True(adminKey.Length >= 40, "cluster.env names no generated admin key");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "cluster.env")));
            }

            Assert.DoesNotContain(adminKey, output);
            using (var own = await nginx.DeleteImageAsync(posted))
            {
                Assert.Equal(HttpStatusCode.NoContent, own.StatusCode); // its own token works through nginx
            }

            var second = await nginx.PostImageAsync(TestImages.RandomEllipses());
            using (var anonymous = await nginx.DeleteAsync(second.GetProperty("image").GetString()!, credential: null))
            {
                await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized);
            }

            using (var admin = await nginx.DeleteAsync(second.GetProperty("image").GetString()!, adminKey))
            {
                Assert.Equal(HttpStatusCode.NoContent, admin.StatusCode);
            }

            // What the cluster's parts refuse: Redis anyone without a password and the instances' user its
            // administration; PostgreSQL a connection without a password; nginx tells no version.
            var redisPort = int.Parse(RedisPort().Match(environment).Groups[1].Value);
            Assert.Contains("NOAUTH", await RedisSaysAsync(redisPort, "PING"));
            var redisPassword = RedisPassword().Match(environment).Groups[1].Value;
            Assert.Contains("NOPERM", await RedisSaysAsync(redisPort, $"AUTH asgilook {redisPassword}", "FLUSHALL"));
            Assert.DoesNotContain(redisPassword, output);
            var postgresPort = PostgresPort().Match(environment).Groups[1].Value;
            await using (var passwordless = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={postgresPort};Username=postgres;Database=postgres;Timeout=3"))
            {
                var refused = await Assert.ThrowsAnyAsync<Npgsql.NpgsqlException>(() => passwordless.OpenAsync());
                Assert.Contains("password", refused.Message, StringComparison.OrdinalIgnoreCase);
            }

            using (var head = await nginx.GetAsync("/health"))
            {
                Assert.Equal("nginx", head.Headers.Server.ToString());
            }
        }
        finally
        {
            await script.DisposeAsync();
        }

        Assert.False(Directory.Exists(folder), "the cluster's folder was left behind");
        Assert.All(new[] { port, port + 1, port + 2 }, used => Assert.False(Loopback.Accepts(used), $"port {used} still answers"));
    }

    [Fact]
    public async Task NginxRefusesWhatItMustItselfWithProblems()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis);

        using (var tooLarge = await cluster.Balancer.PostAsync("/images", new ByteArrayContent(new byte[40 * 1024 * 1024])))
        {
            var problem = await tooLarge.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Contains("32 MiB", problem.GetProperty("detail").GetString());
        }

        // Between Asgilook's limit and nginx's, Asgilook's own answer is the one the client sees.
        using (var overLimit = await cluster.Balancer.PostAsync("/images", new ByteArrayContent(new byte[new AsgilookOptions().MaxUploadBytes + 1])))
        {
            var problem = await overLimit.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Equal("Upload too large", problem.GetProperty("title").GetString());
        }

        foreach (var instance in cluster.Instances)
        {
            await instance.KillAsync();
        }

        using var unavailable = await cluster.Balancer.GetAsync("/images");
        await unavailable.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("5", unavailable.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public void DockerTopologyMatchesTheScriptAndAsgilooksLimits()
    {
        var compose = File.ReadAllText(Path.Combine(Deploy, "docker-compose.yml"));
        var dockerNginx = File.ReadAllText(Path.Combine(Deploy, "nginx", "docker.conf"));
        var script = File.ReadAllText(Path.Combine(Deploy, "cluster.sh"));
        var shared = File.ReadAllText(Path.Combine(Deploy, "nginx", "asgilook-server.conf"));

        // nginx balances across exactly the instances compose defines, on the port the image listens on.
        var upstreams = Upstream().Matches(dockerNginx).Select(match => match.Groups[1].Value).ToList();
        Assert.Equal(["asgilook-1", "asgilook-2"], upstreams);
        Assert.All(upstreams, service => Assert.Matches($@"(?m)^  {service}: \*asgilook$", compose));
        Assert.Contains("ENV ASPNETCORE_URLS=http://0.0.0.0:8000", File.ReadAllText(Path.Combine(Deploy, "Dockerfile")));

        // Both configure nginx with the same shared file, and the instances with the same settings.
        Assert.Contains("include /etc/nginx/asgilook-server.conf;", dockerNginx);
        Assert.Contains("./nginx/asgilook-server.conf:/etc/nginx/asgilook-server.conf:ro", compose);
        Assert.Contains("deploy/nginx/asgilook-server.conf", script);
        foreach (var variable in new[] { "ASGI_LOOK_STORAGE_PATH", "ASGI_LOOK_REDIS_HOST", "ASGI_LOOK_DATABASE" })
        {
            Assert.Matches($"{variable}[:=]", compose);
            Assert.Contains($"export {variable}=", script);
        }

        // Hardened alike: the databases' passwords made at start and never in a file of the repository,
        // PostgreSQL with SCRAM and a role that is no superuser, Redis without an anonymous user, nginx
        // quiet about its version and limiting per client; the instances' containers non-root and read-only.
        Assert.Contains("Username=asgilook;Password=", script);
        Assert.Contains("Username=asgilook;Password=$$(cat /secrets/asgilook-db.password)", compose);
        Assert.Contains("-A scram-sha-256", script);
        Assert.Contains("--auth-host=scram-sha-256", compose);
        Assert.Contains("NOSUPERUSER", script);
        Assert.Contains("NOSUPERUSER", File.ReadAllText(Path.Combine(Deploy, "postgres", "create-asgilook.sh")));
        Assert.Contains("user default off", script);
        Assert.Contains("user default off", compose);
        Assert.Contains("USER app", File.ReadAllText(Path.Combine(Deploy, "Dockerfile")));
        foreach (var hardening in new[] { "read_only: true", "cap_drop: [ALL]", "no-new-privileges:true", "pids_limit:", "mem_limit:" })
        {
            Assert.Contains(hardening, compose);
        }

        var http = File.ReadAllText(Path.Combine(Deploy, "nginx", "asgilook-http.conf"));
        Assert.Contains("server_tokens off;", http);
        Assert.Contains("include /etc/nginx/asgilook-http.conf;", dockerNginx);
        Assert.Contains("deploy/nginx/asgilook-http.conf", script);
        Assert.Contains("worker_connections 4096;", dockerNginx);
        Assert.Contains("worker_connections 4096;", script);
        Assert.Contains("limit_conn asgilook_events", shared);
        Assert.Contains("limit_req zone=asgilook_uploads", shared);
        Assert.Contains("limit_req zone=asgilook_thumbnails", shared);

        // Both generate the admin key rather than ship one, believe only nginx's X-Forwarded-For, and keep
        // the management port off what nginx proxies (and, in compose, off the published ports).
        Assert.Contains("ASGI_LOOK_ADMIN_KEYS=$$(cat /secrets/admin.key)", compose);
        Assert.Contains("head -c 32 /dev/urandom", compose);
        Assert.Contains("export ASGI_LOOK_ADMIN_KEYS=${ASGI_LOOK_ADMIN_KEYS:-$(head -c 32 /dev/urandom", script);
        Assert.Contains("Asgilook__TrustedProxies__0: 172.28.0.10", compose);
        Assert.Contains("ipv4_address: 172.28.0.10", compose);
        Assert.Contains("export Asgilook__TrustedProxies__0=127.0.0.1", script);
        Assert.Contains("Asgilook__ManagementUrls: http://0.0.0.0:9090", compose);
        Assert.Contains("Asgilook__ManagementUrls=http://127.0.0.1:", script);
        Assert.DoesNotContain("9090:", compose);
        Assert.Contains("proxy_set_header X-Forwarded-For $remote_addr;", shared);

        // The bucket layout, in both: the same S3 variables, a secret key made at start, a folder per instance.
        var s3 = File.ReadAllText(Path.Combine(Deploy, "docker-compose.s3.yml"));
        foreach (var variable in new[] { "ASGI_LOOK_S3_ENDPOINT", "ASGI_LOOK_S3_BUCKET", "ASGI_LOOK_S3_ACCESS_KEY", "ASGI_LOOK_S3_SECRET_KEY" })
        {
            Assert.Matches($"{variable}[:=]", s3);
            Assert.Contains($"{variable}=", script);
        }

        Assert.Contains("ASGI_LOOK_S3_SECRET_KEY=$$(cat /secrets/s3-secret.key)", s3);
        Assert.Contains("s3-secret.key; do", compose);
        Assert.Contains("ASGI_LOOK_STORAGE_PATH: /local", s3);
        Assert.Contains("storage=$work/instance-$i", script);
        Assert.Contains("COPY deploy/s3-local.sh", File.ReadAllText(Path.Combine(Deploy, "s3", "Dockerfile")));
        Assert.Contains("deploy/s3-local.sh", script);

        // Instances sharing a machine's cores keep their GC threads unpinned in both.
        Assert.Contains("DOTNET_GCNoAffinitize: \"1\"", compose);
        Assert.Contains("export DOTNET_GCNoAffinitize=", script);

        // Redis runs alike: bounded, evicting the entries closest to expiry first.
        Assert.Contains("\"--maxmemory-policy\", \"volatile-ttl\"", compose);
        Assert.Contains("--maxmemory-policy volatile-ttl", script);

        // nginx's body cap sits just above Asgilook's own, so that Asgilook's problem is the usual answer.
        var cap = long.Parse(BodyCap().Match(shared).Groups[1].Value) * 1024 * 1024;
        var limit = new AsgilookOptions().MaxUploadBytes;
        Assert.InRange(cap, limit + 1, limit + 2 * 1024 * 1024);
    }

    /// <summary>
    /// The compose file's Redis, started as compose would start it (its command line, its user, the ACL file its init
    /// service writes, owned and moded as it leaves it) but outside Docker: Redis must start, refuse the anonymous
    /// user, and give the instances' user Asgilook's keys and nothing else. A Redis that cannot start there leaves the
    /// cluster without its shared cache, limits and events.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task TheComposeRedisStartsWithItsCommandLineUserAndAclFile()
    {
        var compose = File.ReadAllText(Path.Combine(Deploy, "docker-compose.yml"));
        var service = compose[compose.IndexOf("\n  redis:\n", StringComparison.Ordinal)..];
        service = service[..service.IndexOf("\n\n", StringComparison.Ordinal)];
        var user = ComposeUser().Match(service).Groups[1].Value;
        Assert.Equal("999:999", user); // never root: the image's switch of user needs capabilities the container lacks
        Assert.Contains("condition: service_healthy", compose[compose.IndexOf("    redis:\n      condition:", StringComparison.Ordinal)..][..60]);
        var command = ComposeCommand().Match(service).Groups[1].Value.Split(", ").Select(item => item.Trim('"')).ToList();
        var aclLine = AclLine().Match(compose).Groups[1].Value;

        using var folder = new TemporaryFolder("asgilook-compose-redis-");
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var acl = Path.Combine(folder.Path, "users.acl");
        await File.WriteAllTextAsync(acl, aclLine.Replace("%s", password, StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal));
        var (uid, gid) = (int.Parse(user.Split(':')[0]), int.Parse(user.Split(':')[1]));
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            File.SetUnixFileMode(folder.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            Assert.Equal(0, await RunAsync("chown", $"{uid}:{gid}", acl));
        }

        File.SetUnixFileMode(acl, UnixFileMode.UserRead); // chmod 400, as the init service leaves it
        var port = Loopback.FreePort();
        var arguments = command.Skip(1).Select(argument => argument == "/secrets/users.acl" ? acl : argument)
            .Concat(["--port", port.ToString(), "--bind", "127.0.0.1"]).ToList();
        var start = asRoot
            ? new ProcessStartInfo("setpriv", ["--reuid", uid.ToString(), "--regid", gid.ToString(), "--clear-groups", command[0], .. arguments])
            : new ProcessStartInfo(command[0], arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var redisProcess = Process.Start(start)!;
        try
        {
            await Loopback.WaitUntilAsync(() => redisProcess.HasExited || Loopback.Accepts(port), "the compose Redis did not listen");
            if (redisProcess.HasExited)
            {
                Assert.Fail($"the compose Redis exited: {await redisProcess.StandardOutput.ReadToEndAsync()}");
            }

            using var asgilook = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},user=asgilook,password={password}");
            var database = asgilook.GetDatabase();
            Assert.True(await database.StringSetAsync("asgilook:probe", "1"));
            await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(() => database.StringSetAsync("other:probe", "1"));
            var anonymous = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=2000");
                await connection.GetDatabase().PingAsync();
            });
            Assert.NotNull(anonymous);
        }
        finally
        {
            redisProcess.Kill();
            await redisProcess.WaitForExitAsync();
        }
    }

    private static async Task<int> RunAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false })!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    [GeneratedRegex(@"(?m)^    user: ""([0-9]+:[0-9]+)""")]
    private static partial Regex ComposeUser();

    [GeneratedRegex(@"(?m)^    command: \[(.*)\]$")]
    private static partial Regex ComposeCommand();

    [GeneratedRegex(@"printf '(user default off[^']*)'")]
    private static partial Regex AclLine();

    [GeneratedRegex(@"ADMIN_KEY=(\S+)")]
    private static partial Regex AdminKey();

    [GeneratedRegex(@"(?m)^REDIS_PORT=(\d+)")]
    private static partial Regex RedisPort();

    [GeneratedRegex(@"(?m)^REDIS_PASSWORD=(\S+)")]
    private static partial Regex RedisPassword();

    [GeneratedRegex(@"(?m)^POSTGRES_PORT=(\d+)")]
    private static partial Regex PostgresPort();

    /// <summary>What a Redis server answers to commands sent over a plain connection (the last answer's first line).</summary>
    private static async Task<string> RedisSaysAsync(int port, params string[] commands)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream);
        string? answer = null;
        foreach (var command in commands)
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(command + "\r\n"));
            answer = await reader.ReadLineAsync();
        }

        return answer ?? string.Empty;
    }

    [GeneratedRegex(@"server (asgilook-\d+):8000")]
    private static partial Regex Upstream();

    [GeneratedRegex(@"client_max_body_size (\d+)m;")]
    private static partial Regex BodyCap();
}
