import type { CsiVolumeRequest, HostVolumeRequest, VolumeSpec } from './types';

/** Body of `PUT /v1/volume/csi/:id/create` and `PUT /v1/volume/csi/:id`. */
export function csiVolumeRequestBody(spec: VolumeSpec, defaultNamespace = 'default'): { Volumes: CsiVolumeRequest[] } {
  return {
    Volumes: [
      {
        ID: spec.id,
        Name: spec.name,
        Namespace: spec.namespace ?? defaultNamespace,
        PluginID: spec.pluginId,
        RequestedCapacityMin: spec.capacityMin ?? 0,
        RequestedCapacityMax: spec.capacityMax ?? 0,
        RequestedCapabilities: spec.capabilities.map((c) => ({ AccessMode: c.accessMode, AttachmentMode: c.attachmentMode })),
        MountOptions: spec.mountOptions
          ? { FSType: spec.mountOptions.fsType ?? '', MountFlags: spec.mountOptions.mountFlags ?? null }
          : null,
        Secrets: spec.secrets ?? null,
        Parameters: spec.parameters ?? null,
      },
    ],
  };
}

/**
 * Body of `PUT /v1/volume/host/create`. Host volumes are addressed by name in jobs and get their
 * ID from Nomad, so `spec.id` is sent only to update an existing volume.
 */
export function hostVolumeRequestBody(
  spec: VolumeSpec,
  defaultNamespace = 'default',
  existingId?: string,
): { Volume: HostVolumeRequest } {
  return {
    Volume: {
      ...(existingId ? { ID: existingId } : {}),
      Name: spec.name,
      Namespace: spec.namespace ?? defaultNamespace,
      NodePool: spec.nodePool ?? '',
      PluginID: spec.pluginId,
      RequestedCapacityMinBytes: spec.capacityMin ?? 0,
      RequestedCapacityMaxBytes: spec.capacityMax ?? 0,
      RequestedCapabilities: spec.capabilities.map((c) => ({ AccessMode: c.accessMode, AttachmentMode: c.attachmentMode })),
      Parameters: spec.parameters ?? null,
    },
  };
}
