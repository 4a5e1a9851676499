-- Argo CD health of an AutomationDeployment (a worker fleet rolled out by canary steps). Argo CD
-- runs it in Lua 5.1 with only the base and table libraries.
local hs = {}
-- As kstatus does: a status that names an older generation has not caught up yet.
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if obj.status == nil or (observed ~= nil and observed ~= obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to roll this generation out."
  return hs
end
local ready, stalled = nil, nil
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
  if condition.type == "Stalled" and condition.status == "True" then stalled = condition end
end
local phase = obj.status.phase
hs.message = obj.status.message
if stalled ~= nil then
  -- Rolled back (the revision is not tried again until changed or retried), or cannot run at all.
  hs.status = "Degraded"
  if obj.status.message ~= nil and obj.status.message ~= stalled.message then
    hs.message = obj.status.message .. " " .. stalled.message
  else
    hs.message = stalled.message
  end
elseif ready ~= nil and ready.status == "False" and ready.reason ~= phase then
  -- A reconcile failed and is retried with backoff (otherwise Ready's reason is the phase).
  hs.status = "Degraded"
  hs.message = ready.message
elseif phase == "Healthy" then
  hs.status = "Healthy"
elseif phase == "Paused" then
  -- Held at a step: waiting for a promotion, for data, or for spec.paused to be lifted.
  hs.status = "Suspended"
elseif phase == "Degraded" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
return hs
