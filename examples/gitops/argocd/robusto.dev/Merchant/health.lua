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
local ready = nil
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
end
if ready == nil then
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
  -- Both credentials refused (a new Secret value ends it), the portal's circuit open (it closes by
  -- itself), no tenant, or a reconcile failing: its tickets wait, using no attempt.
  hs.status = "Degraded"
  hs.message = ready.message
end
return hs
