-- wrk script: GET /v1/resolve for a random one of the 10,000 preloaded emails (user0..user9999@acme.com).
-- The key comes from the environment: SELFSAME_KEY.
local key = os.getenv("SELFSAME_KEY")
math.randomseed(os.time())
request = function()
  local path = "/v1/resolve?type=email&value=user" .. math.random(0, 9999) .. "%40acme.com"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end
