-- The canary becomes stable at once, skipping its remaining steps and analysis.
-- The operator carries the order out, says what it did in status.lastAction, an Event and the
-- audit log, then removes the annotation (as `robusto fleet promote` and kubectl annotate do).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["robusto.dev/action"] = "promote"
return obj
