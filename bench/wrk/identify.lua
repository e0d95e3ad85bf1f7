-- wrk script: POST /v1/identify for a new user each request (user_id plus email), as bench/Selfsame.Bench's http identify.
-- The key comes from the environment: SELFSAME_KEY. Each wrk thread numbers its users apart from the others.
local key = os.getenv("SELFSAME_KEY")
-- SELFSAME_DRY_RUN=1: the same requests as dry runs (nothing is kept).
local path = os.getenv("SELFSAME_DRY_RUN") == "1" and "/v1/identify?dry_run=true" or "/v1/identify"
local counter = 0
local prefix = ""
setup = function(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end
init = function(args)
  prefix = prefix or "0"
end
request = function()
  counter = counter + 1
  local id = "w" .. prefix .. "-" .. counter
  local body = '{"user_id":"' .. id .. '","identifiers":[{"type":"email","value":"' .. id .. '@acme.com"}],"properties":{"plan":"free"}}'
  return wrk.format("POST", path, { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }, body)
end
