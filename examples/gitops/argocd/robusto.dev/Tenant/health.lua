-- Argo CD health of a Tenant. Argo CD runs it in Lua 5.1 with only the base and table libraries.
local hs = {}
-- As kstatus does: a status that names an older generation has not caught up yet.
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if obj.status == nil or (observed ~= nil and observed ~= obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile this generation."
  return hs
end
local ready, stalled = nil, nil
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
  if condition.type == "Stalled" and condition.status == "True" then stalled = condition end
end
if stalled ~= nil then
  hs.status = "Degraded"
  hs.message = stalled.message
elseif ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile this generation."
elseif ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
elseif ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = ready.message
elseif ready.reason == "NamespaceConflict" then
  -- Not stalled: its namespace is still being deleted, and is created anew once gone.
  hs.status = "Progressing"
  hs.message = ready.message
else
  -- Not provisioned and retried with backoff (the API server or PostgreSQL failing).
  hs.status = "Degraded"
  hs.message = ready.message
end
return hs
