/**
 * Nomad decodes request bodies case-insensitively (Go's encoding/json). The sandbox rewrites keys
 * to Nomad's spelling once, so the rest of it can read `body.Job.TaskGroups` plainly.
 */

const CANONICAL = `JobHCL Canonicalize Variables HCLv1 Job EnforceIndex JobModifyIndex PolicyOverride PreserveCounts
EvalPriority Submission Volumes Volume ID Name Namespace PluginID RequestedCapacityMin RequestedCapacityMax
RequestedCapabilities AccessMode AttachmentMode MountOptions FSType MountFlags Secrets Parameters ExternalID
NodePool NodeID RequestedCapacityMinBytes RequestedCapacityMaxBytes Region Type Priority AllAtOnce Datacenters
TaskGroups Tasks Count Update Meta Constraints Affinities Spreads Networks Services Checks Config Env Resources
VolumeMounts Templates Driver User Lifecycle Hook Sidecar Leader KillTimeout KillSignal ShutdownDelay Kind
LTarget RTarget Operand Source ReadOnly Sticky PerAlloc Volume Destination PropagationMode SELinuxLabel
CPU Cores MemoryMB MemoryMaxMB DiskMB IOPS Devices Mode Device CIDR IP DNS Hostname MBits CNI ReservedPorts
DynamicPorts Label Value To HostNetwork IgnoreCollision PortLabel Provider Tags CanaryTags EnableTagOverride
AddressMode Address TaskName OnUpdate Cluster Command Args Path Protocol Interval Timeout Method Header Body
InitialStatus TLSSkipVerify TLSServerName GRPCService GRPCUseTLS SuccessBeforePassing FailuresBeforeCritical
SourcePath DestPath EmbeddedTmpl ChangeMode ChangeSignal Splay Perms Uid Gid LeftDelim RightDelim Envvars
Stagger MaxParallel HealthCheck MinHealthyTime HealthyDeadline ProgressDeadline Canary AutoRevert AutoPromote
Stop Status Version SubmitTime CreateIndex ModifyIndex ParentID Periodic ParameterizedJob Dispatched Payload
Multiregion Migrate Reschedule RestartPolicy ReschedulePolicy EphemeralDisk Scaling Consul Vault LogConfig
Artifacts DispatchPayload ScalingPolicies Context Topologies Seed LatencyMs Rules ErrorRate ErrorStatus
ErrorMessage Hang FailAllocations PendingAllocations`.split(/\s+/);

const BY_LOWER = new Map(CANONICAL.map((k) => [k.toLowerCase(), k]));

/** Values are user data: their keys are kept exactly. */
const FREE_MAPS = new Set(['Config', 'Env', 'Meta', 'Parameters', 'Secrets', 'Context', 'Header', 'CanaryMeta', 'TaggedAddresses', 'Details']);

function canonicalKey(k: string): string {
  return BY_LOWER.get(k.toLowerCase()) ?? (k.length > 0 ? k.charAt(0).toUpperCase() + k.slice(1) : k);
}

export function canonicalizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalizeKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const name = canonicalKey(k);
    if (FREE_MAPS.has(name)) out[name] = v;
    else if (name === 'Volumes' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      // A task group's volumes: a map keyed by the user's labels.
      out[name] = Object.fromEntries(Object.entries(v).map(([label, req]) => [label, canonicalizeKeys(req)]));
    } else out[name] = canonicalizeKeys(v);
  }
  return out;
}
