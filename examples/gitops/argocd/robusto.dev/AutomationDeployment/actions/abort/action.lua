-- The canary goes to zero at once; its revision is not tried again until changed or retried.
-- The operator carries the order out, says what it did in status.lastAction, an Event and the
-- audit log, then removes the annotation (as `robusto fleet abort` and kubectl annotate do).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["robusto.dev/action"] = "abort"
return obj
