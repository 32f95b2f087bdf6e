-- Requests the paths listed in the file $PATHS in order, each at most once, the $THREADS threads
-- (wrk's -t) taking turns through the list. The list should outlast the run; past its share a
-- thread stops (asking for /health until wrk notices), and bench/run.sh refuses such a run.
-- With $POST_TO set, each listed path is a file whose bytes are POSTed there instead (every upload new content).
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    local all = {}
    for line in io.lines(os.getenv("PATHS")) do
        all[#all + 1] = line
    end
    mine = {}
    for i = id + 1, #all, tonumber(os.getenv("THREADS")) do
        mine[#mine + 1] = all[i]
    end
    post_to = os.getenv("POST_TO")
    sent = 0
    answered = 0
end

function request()
    sent = sent + 1
    if sent > #mine then
        return wrk.format("GET", "/health")
    end
    if post_to then
        local file = assert(io.open(mine[sent], "rb"))
        local body = file:read("*a")
        file:close()
        return wrk.format("POST", post_to, { ["Content-Type"] = "application/octet-stream" }, body)
    end
    return wrk.format("GET", mine[sent])
end

function response(status, headers, body)
    answered = answered + 1
    if answered >= #mine then
        wrk.thread:stop()
    end
end
