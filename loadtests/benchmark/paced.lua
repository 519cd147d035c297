-- wrk at a steady rate, for `paced` (load.py). Arguments: the mean pause in
-- ms before each request of a connection, and the path of a small file for
-- each connection's first request.
--
-- Each connection pauses a random time around the mean (half to one and a
-- half of it), so the connections drift apart and requests arrive as an even
-- stream, not in bursts. wrk sends every connection's first request at once,
-- before any pause: those fetch the small file, so the start costs nothing.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  pause = tonumber(args[1])
  opening = args[2]
  openings = tonumber(args[3])
  sent = 0
  math.randomseed(id * 7919)
end

function request()
  sent = sent + 1
  if sent <= openings then
    return wrk.format("GET", opening)
  end
  return wrk.format()
end

function delay()
  return pause * (0.5 + math.random())
end
