-- Which of a fleet's orders apply now: promote and abort while a canary runs, retry once its
-- revision was stopped (rolled back or aborted). Argo CD runs it in Lua 5.1 with only the base and
-- table libraries.
local actions = {}
local status = obj.status or {}
actions["promote"] = {["disabled"] = status.canaryRevision == nil}
actions["abort"] = {["disabled"] = status.canaryRevision == nil}
actions["retry"] = {["disabled"] = status.abortedRevision == nil}
return actions
