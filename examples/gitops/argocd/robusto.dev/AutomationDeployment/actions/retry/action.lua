-- A rolled-back or aborted revision starts its canary steps again.
-- The operator carries the order out, says what it did in status.lastAction, an Event and the
-- audit log, then removes the annotation (as `robusto fleet retry` and kubectl annotate do).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["robusto.dev/action"] = "retry"
return obj
