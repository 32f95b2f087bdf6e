-- POSTs each file listed in $FILES to /images once, in order, the $THREADS threads (wrk's -t) taking turns
-- through the list, so that every upload is new content. The list should outlast the run; past its share a
-- thread stops (asking for /health until wrk notices).
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    local all = {}
    for line in io.lines(os.getenv("FILES")) do
        all[#all + 1] = line
    end
    mine = {}
    for i = id + 1, #all, tonumber(os.getenv("THREADS")) do
        mine[#mine + 1] = all[i]
    end
    sent = 0
end

function request()
    sent = sent + 1
    if sent > #mine then
        wrk.thread:stop()
        return wrk.format("GET", "/health")
    end
    local file = assert(io.open(mine[sent], "rb"))
    local body = file:read("*a")
    file:close()
    return wrk.format("POST", "/images", { ["Content-Type"] = "application/octet-stream" }, body)
end
