-- Argo CD health of a FeatureFlag. Argo CD runs it in Lua 5.1 with only the base and table
-- libraries.
local hs = {}
-- As kstatus does: a status that names an older generation has not caught up yet.
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if obj.status == nil or (observed ~= nil and observed ~= obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to serve this generation."
  return hs
end
local ready, stalled, disabled = nil, nil, nil
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
  if condition.type == "Stalled" and condition.status == "True" then stalled = condition end
  if condition.type == "Disabled" then disabled = condition end
end
if stalled ~= nil then
  hs.status = "Degraded"
  hs.message = stalled.message
elseif ready == nil or ready.status ~= "True" then
  hs.status = "Degraded"
  hs.message = ready ~= nil and ready.message or "Not served."
elseif disabled ~= nil and disabled.status == "True" and disabled.reason == "AutoDisabled" then
  -- Its metric breached: someone should look before turning it back on.
  hs.status = "Degraded"
  hs.message = disabled.message
elseif disabled ~= nil and disabled.status == "True" then
  -- The kill switch (spec.state: DISABLED): off on purpose.
  hs.status = "Suspended"
  hs.message = disabled.message
else
  hs.status = "Healthy"
  hs.message = ready.message
  if disabled ~= nil and disabled.status == "False" and disabled.reason ~= "Enabled" then
    hs.message = ready.message .. " " .. disabled.message
  end
end
return hs
