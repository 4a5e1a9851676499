-- Argo CD health of a Merchant (a portal tickets go to). Argo CD runs it in Lua 5.1 with only the
-- base and table libraries.
local hs = {}
-- As kstatus does: a status that names an older generation has not caught up yet.
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if obj.status == nil or (observed ~= nil and observed ~= obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe this generation."
  return hs
end
local ready, stalled = nil, nil
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
  if condition.type == "Stalled" and condition.status == "True" then stalled = condition end
end
if stalled ~= nil then
  -- The portal refused both credentials, or no tenant: only a person fixes them.
  hs.status = "Degraded"
  hs.message = stalled.message
elseif ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe this generation."
elseif ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
elseif ready.reason == "CredentialsMissing" then
  -- Its Secret may still be applied by the same sync; the tickets wait without using attempts.
  hs.status = "Progressing"
  hs.message = ready.message
else
  -- The portal's circuit is open (its tickets wait), or a reconcile failed: both heal by themselves.
  hs.status = "Degraded"
  hs.message = ready.message
end
return hs
