-- POST one-tap answers, cycling through the invitation links in $FEEDBACK_LINKS (one path a line).
-- Each wrk thread starts at its own offset, so two threads rarely answer the same invitation at once;
-- $FEEDBACK_OFFSET (optional) shifts them, so that each round of an interleaved run starts elsewhere.
-- Scores follow a typical retail NPS mix: 55% promoters, 25% passives, 20% detractors.
local scores = {10, 9, 10, 9, 8, 10, 7, 9, 3, 10, 8, 9, 6, 10, 7, 9, 2, 8, 10, 5}
local threads = {}
local counter = 1

function setup(thread)
  thread:set("offset", counter * 7919 + tonumber(os.getenv("FEEDBACK_OFFSET") or "0"))
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(os.getenv("FEEDBACK_LINKS")) do paths[#paths + 1] = line end
  i = offset
  bad = 0
  statuses = ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  i = i + 1
  return wrk.format(nil, paths[(i % #paths) + 1], nil, "score=" .. scores[(i % #scores) + 1])
end

function response(status, headers, body)
  if status ~= 303 then
    bad = bad + 1
    if #statuses < 200 then statuses = statuses .. status .. " " end
  end
end

function done(summary, latency, requests)
  local total = 0
  local seen = ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
    seen = seen .. thread:get("statuses")
  end
  io.write(string.format("non_303=%d statuses=%s\n", total, seen))
end
