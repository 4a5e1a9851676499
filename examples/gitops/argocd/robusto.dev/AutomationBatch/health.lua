-- Argo CD health of an AutomationBatch. Argo CD runs it in Lua 5.1 with only the base and table
-- libraries.
local hs = {}
-- As kstatus does: a status that names an older generation has not caught up yet.
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if obj.status == nil or (observed ~= nil and observed ~= obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to read this generation's tickets."
  return hs
end
local ready, stalled = nil, nil
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
  if condition.type == "Stalled" and condition.status == "True" then stalled = condition end
end
local phase = obj.status.phase
hs.message = ready ~= nil and ready.message or phase
if stalled ~= nil then
  -- No tenant, no merchant, unreadable tickets, failed workers, or no ticket succeeded.
  hs.status = "Degraded"
  hs.message = stalled.message
elseif phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "PartiallyFailed" then
  -- Finished, but some tickets failed or were dead-lettered: someone should look (and redrive).
  hs.status = "Degraded"
elseif phase == "Suspended" then
  hs.status = "Suspended"
elseif phase == "Pending" then
  -- Waiting for its Merchant or its tickets' ConfigMap, which the same sync may still apply.
  hs.status = "Progressing"
elseif ready ~= nil and ready.status == "False" then
  -- A reconcile failed and is retried with backoff.
  hs.status = "Degraded"
else
  -- Pending, Queued, Running or Throttled (waiting for tomorrow's quota).
  hs.status = "Progressing"
end
return hs
