-- Argo CD health check for training.agentcore.dev/TrainingJob (docs/gitops.md).
-- Argo CD runs it with the live object as the global `obj` and reads the returned table.
--   no status yet, Queued      -> Progressing
--   Running                    -> Progressing  (message: iteration and percent)
--   spec.cancel, not yet done  -> Progressing  (the trainer is checkpointing)
--   Suspended condition True   -> Suspended    (spec.suspend: true; resumable)
--   Completed                  -> Healthy      (says BudgetExhausted when the budget stopped it)
--   Cancelled                  -> Healthy      (the run ended as requested: spec.cancel is in Git)
--   Failed                     -> Degraded     (message of the Failed condition)
--   anything else              -> Unknown
local hs = {}
local status = obj.status or {}
local spec = obj.spec or {}
local metadata = obj.metadata or {}

local function condition(kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(kind)
  local c = condition(kind)
  return c ~= nil and c.status == "True"
end

local function messageOf(kind, fallback)
  local c = condition(kind)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if status.message ~= nil and status.message ~= "" then
    return status.message
  end
  return fallback
end

local function progressText()
  local p = status.progress
  if p == nil or p.totalIterations == nil then
    return ""
  end
  local text = "iteration " .. tostring(p.currentIteration or 0) .. "/" .. tostring(p.totalIterations)
  if p.percentComplete ~= nil then
    text = text .. " (" .. tostring(p.percentComplete) .. "%)"
  end
  return text
end

local phase = status.phase

if phase == "Completed" then
  hs.status = "Healthy"
  if isTrue("BudgetExhausted") then
    hs.message = "Completed: BudgetExhausted: " .. messageOf("BudgetExhausted", "stopped at the budget")
  else
    hs.message = "Completed: " .. messageOf("Completed", "training completed")
  end
  return hs
end

if phase == "Failed" then
  hs.status = "Degraded"
  local c = condition("Failed")
  local reason = (c ~= nil and c.reason) or "Failed"
  hs.message = "Failed: " .. reason .. ": " .. messageOf("Failed", "the run failed")
  return hs
end

if phase == "Cancelled" then
  hs.status = "Healthy"
  hs.message = "Cancelled"
  if status.cancelledAt ~= nil then
    hs.message = hs.message .. " at " .. status.cancelledAt
  end
  hs.message = hs.message .. ": " .. messageOf("Cancelled", "spec.cancel was set to true")
  return hs
end

-- Not finished. Until the operator has seen the latest spec (a new cancel or suspend),
-- what status says is about an older one.
if status.observedGeneration ~= nil and metadata.generation ~= nil
    and status.observedGeneration < metadata.generation then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to observe generation " .. tostring(metadata.generation)
  return hs
end

if spec.cancel == true then
  hs.status = "Progressing"
  hs.message = "cancelling: " .. messageOf("Cancelled", "cancellation requested")
  return hs
end

if spec.suspend == true and isTrue("Suspended") then
  hs.status = "Suspended"
  hs.message = "Suspended: " .. messageOf("Suspended", "spec.suspend is true")
  return hs
end

if phase == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator"
  return hs
end

if phase == "Queued" then
  hs.status = "Progressing"
  hs.message = "Queued: " .. (status.message or "waiting for the trainer to start")
  return hs
end

if phase == "Running" then
  hs.status = "Progressing"
  local text = progressText()
  if text == "" then
    hs.message = "Running"
  else
    hs.message = "Running: " .. text
  end
  return hs
end

hs.status = "Unknown"
hs.message = "unknown phase " .. tostring(phase)
return hs
