/**
 * The subset of Nomad's HTTP API shapes knot reads and writes (field names exactly as Nomad's
 * `api` package marshals them). Pointer fields in Go are `| null` here; fields the sandbox or a
 * newer Nomad may leave out are optional.
 */

export type ClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';
export type DesiredStatus = 'run' | 'stop' | 'evict';
export type JobStatus = 'pending' | 'running' | 'dead';
export type CsiAccessMode =
  | 'single-node-reader-only'
  | 'single-node-writer'
  | 'multi-node-reader-only'
  | 'multi-node-single-writer'
  | 'multi-node-multi-writer';
export type CsiAttachmentMode = 'file-system' | 'block-device';

export interface Port {
  Label: string;
  Value: number;
  To: number;
  HostNetwork: string;
  IgnoreCollision?: boolean;
}

export interface NetworkResource {
  Mode?: string;
  Device?: string;
  CIDR?: string;
  IP?: string;
  DNS?: unknown;
  Hostname?: string;
  MBits?: number | null;
  CNI?: unknown;
  ReservedPorts?: Port[] | null;
  DynamicPorts?: Port[] | null;
}

export interface Resources {
  CPU?: number | null;
  Cores?: number | null;
  MemoryMB?: number | null;
  MemoryMaxMB?: number | null;
  DiskMB?: number | null;
  Networks?: NetworkResource[] | null;
  Devices?: unknown;
  IOPS?: number | null;
}

export interface VolumeRequest {
  Name: string;
  Type: string;
  Source: string;
  ReadOnly: boolean;
  Sticky?: boolean;
  AccessMode: string;
  AttachmentMode: string;
  MountOptions: CsiMountOptions | null;
  PerAlloc: boolean;
}

export interface VolumeMount {
  Volume: string | null;
  Destination: string | null;
  ReadOnly: boolean | null;
  PropagationMode: string | null;
  SELinuxLabel?: string | null;
}

export interface ServiceCheck {
  Name: string;
  Type: string;
  Command?: string;
  Args?: string[] | null;
  Path: string;
  Protocol?: string;
  PortLabel: string;
  Interval: number;
  Timeout: number;
  Method?: string;
  [extra: string]: unknown;
}

export interface Service {
  Name: string;
  PortLabel: string;
  Provider: string;
  Tags: string[] | null;
  Checks: ServiceCheck[] | null;
  [extra: string]: unknown;
}

export interface Constraint {
  LTarget: string;
  RTarget: string;
  Operand: string;
}

export interface Template {
  SourcePath: string | null;
  DestPath: string | null;
  EmbeddedTmpl: string | null;
  ChangeMode: string | null;
  ChangeSignal: string | null;
  Splay: number | null;
  Perms: string | null;
  LeftDelim: string | null;
  RightDelim: string | null;
  Envvars: boolean | null;
  [extra: string]: unknown;
}

export interface UpdateStrategy {
  Stagger: number | null;
  MaxParallel: number | null;
  HealthCheck: string | null;
  MinHealthyTime: number | null;
  HealthyDeadline: number | null;
  ProgressDeadline: number | null;
  Canary: number | null;
  AutoRevert: boolean | null;
  AutoPromote: boolean | null;
}

export interface Task {
  Name: string;
  Driver: string;
  User?: string;
  Config: Record<string, unknown> | null;
  Env: Record<string, string> | null;
  Meta?: Record<string, string> | null;
  Services?: Service[] | null;
  Resources: Resources | null;
  Constraints?: Constraint[] | null;
  Templates?: Template[] | null;
  VolumeMounts: VolumeMount[] | null;
  Leader?: boolean;
  KillTimeout?: number | null;
  KillSignal?: string;
  [extra: string]: unknown;
}

export interface TaskGroup {
  Name: string;
  Count: number | null;
  Constraints?: Constraint[] | null;
  Tasks: Task[];
  Volumes?: Record<string, VolumeRequest> | null;
  Networks?: NetworkResource[] | null;
  Services?: Service[] | null;
  Meta?: Record<string, string> | null;
  Update?: UpdateStrategy | null;
  [extra: string]: unknown;
}

export interface Job {
  ID: string;
  Name?: string | null;
  Namespace?: string | null;
  Region?: string | null;
  Type?: string | null;
  Priority?: number | null;
  Datacenters?: string[] | null;
  NodePool?: string | null;
  Constraints?: Constraint[] | null;
  Meta?: Record<string, string> | null;
  Update?: UpdateStrategy | null;
  TaskGroups?: TaskGroup[] | null;
  Stop?: boolean | null;
  Status?: JobStatus | null;
  StatusDescription?: string | null;
  Version?: number | null;
  SubmitTime?: number | null;
  CreateIndex?: number | null;
  ModifyIndex?: number | null;
  JobModifyIndex?: number | null;
  [extra: string]: unknown;
}

export interface JobListStub {
  ID: string;
  ParentID: string;
  Name: string;
  Namespace: string;
  Datacenters: string[] | null;
  Type: string;
  Priority: number;
  Periodic: boolean;
  ParameterizedJob: boolean;
  Stop: boolean;
  Status: JobStatus;
  StatusDescription: string;
  JobSummary: unknown;
  CreateIndex: number;
  ModifyIndex: number;
  JobModifyIndex: number;
  SubmitTime: number;
  /**
   * Only with `?meta=true` (Nomad 1.5+), and even then left out for a job without meta (1.6):
   * an absent key means "no meta" once any stub of the same list carries one.
   */
  Meta?: Record<string, string>;
}

export interface JobRegisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings: string;
  Index: number;
}

export interface JobDeregisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Index: number;
}

export interface TaskEvent {
  Type: string;
  Time: number;
  Message?: string;
  DisplayMessage: string;
  DriverError?: string;
  FailsTask: boolean;
  Details?: Record<string, string>;
  [extra: string]: unknown;
}

export interface TaskState {
  State: 'pending' | 'running' | 'dead';
  Failed: boolean;
  Restarts: number;
  LastRestart?: string | null;
  StartedAt: string | null;
  FinishedAt: string | null;
  Events: TaskEvent[] | null;
}

export interface AllocDeploymentStatus {
  Healthy: boolean | null;
  Timestamp: string;
  Canary: boolean;
  ModifyIndex: number;
}

export interface AllocListStub {
  ID: string;
  EvalID: string;
  Name: string;
  Namespace: string;
  NodeID: string;
  NodeName: string;
  JobID: string;
  JobType: string;
  JobVersion: number;
  TaskGroup: string;
  DesiredStatus: DesiredStatus;
  DesiredDescription: string;
  ClientStatus: ClientStatus;
  ClientDescription: string;
  TaskStates: Record<string, TaskState> | null;
  DeploymentStatus: AllocDeploymentStatus | null;
  FollowupEvalID: string;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

export interface AllocatedPort {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}

export interface Allocation extends AllocListStub {
  Job: Job | null;
  AllocatedResources: {
    Tasks: Record<string, { Cpu: { CpuShares: number }; Memory: { MemoryMB: number } }>;
    Shared: { Ports: AllocatedPort[]; Networks: NetworkResource[] };
  } | null;
  DeploymentID: string;
  AllocModifyIndex: number;
}

export interface AllocationMetric {
  NodesEvaluated: number;
  NodesFiltered: number;
  NodesInPool: number;
  NodesAvailable: Record<string, number>;
  ClassFiltered: Record<string, number> | null;
  ConstraintFiltered: Record<string, number> | null;
  NodesExhausted: number;
  ClassExhausted: Record<string, number> | null;
  DimensionExhausted: Record<string, number> | null;
  QuotaExhausted: string[] | null;
  CoalescedFailures: number;
  AllocationTime: number;
}

export type EvalStatus = 'pending' | 'complete' | 'failed' | 'blocked' | 'canceled';

export interface Evaluation {
  ID: string;
  Namespace: string;
  Priority: number;
  Type: string;
  TriggeredBy: string;
  JobID: string;
  JobModifyIndex: number;
  Status: EvalStatus;
  /** real Nomad leaves empty fields out of evaluations */
  StatusDescription?: string;
  BlockedEval?: string;
  PreviousEval?: string;
  FailedTGAllocs?: Record<string, AllocationMetric> | null;
  QueuedAllocations?: Record<string, number> | null;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

export interface CsiMountOptions {
  FSType: string;
  MountFlags: string[] | null;
}

export interface CsiVolumeCapability {
  AccessMode: CsiAccessMode | string;
  AttachmentMode: CsiAttachmentMode | string;
}

/** One entry of the `Volumes` array sent to create/register. */
export interface CsiVolumeRequest {
  ID: string;
  Name: string;
  Namespace: string;
  PluginID: string;
  RequestedCapacityMin: number;
  RequestedCapacityMax: number;
  RequestedCapabilities: CsiVolumeCapability[];
  MountOptions: CsiMountOptions | null;
  Secrets: Record<string, string> | null;
  Parameters: Record<string, string> | null;
  ExternalID?: string;
}

export interface CsiVolume {
  ID: string;
  Name: string;
  Namespace: string;
  ExternalID: string;
  PluginID: string;
  Provider: string;
  ProviderVersion: string;
  Capacity: number;
  RequestedCapacityMin: number;
  RequestedCapacityMax: number;
  RequestedCapabilities: CsiVolumeCapability[] | null;
  AccessMode: string;
  AttachmentMode: string;
  MountOptions: CsiMountOptions | null;
  Secrets: Record<string, string> | null;
  Parameters: Record<string, string> | null;
  Context: Record<string, string> | null;
  /**
   * The claims: keys are allocation ids. Values are null on both real Nomad (1.6, after a claim)
   * and the sandbox, so only the keys mean anything; a create response carries null maps.
   */
  ReadAllocs: Record<string, Allocation | null> | null;
  WriteAllocs: Record<string, Allocation | null> | null;
  Allocations: AllocListStub[] | null;
  Schedulable: boolean;
  ControllerRequired: boolean;
  ControllersHealthy: number;
  ControllersExpected: number;
  NodesHealthy: number;
  NodesExpected: number;
  ResourceExhausted: string | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CsiVolumeListStub {
  ID: string;
  Namespace: string;
  Name: string;
  ExternalID: string;
  AccessMode: string;
  AttachmentMode: string;
  CurrentReaders: number;
  CurrentWriters: number;
  Schedulable: boolean;
  PluginID: string;
  Provider: string;
  ControllerRequired: boolean;
  ControllersHealthy: number;
  ControllersExpected: number;
  NodesHealthy: number;
  NodesExpected: number;
  ResourceExhausted: string | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CsiVolumeCreateResponse {
  Volumes: CsiVolume[] | null;
  /** real Nomad 1.6 leaves the key out */
  Warnings?: string;
  Index: number;
}

export type HostVolumeState = 'pending' | 'ready' | 'unavailable' | 'deleted';

export interface HostVolumeRequest {
  ID?: string;
  Name: string;
  Namespace: string;
  NodePool: string;
  NodeID?: string;
  PluginID: string;
  RequestedCapacityMinBytes: number;
  RequestedCapacityMaxBytes: number;
  RequestedCapabilities: CsiVolumeCapability[] | null;
  Parameters: Record<string, string> | null;
}

export interface HostVolume extends HostVolumeRequest {
  ID: string;
  NodeID: string;
  HostPath: string;
  State: HostVolumeState;
  CapacityBytes: number;
  Allocations: AllocListStub[];
  CreateIndex: number;
  ModifyIndex: number;
}

export interface HostVolumeStub {
  ID: string;
  Name: string;
  Namespace: string;
  PluginID: string;
  NodePool: string;
  NodeID: string;
  State: HostVolumeState;
  CapacityBytes: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface HostVolumeCreateResponse {
  Volume: HostVolume;
  Warnings: string;
  Index: number;
}

/** A volume as knot's templates define it (the seeds' Volume-Definition YAML, parsed by core/). */
export type { VolumeSpec } from '../core/volumes';
