/** Nomad paths become route patterns for metrics: never a job, allocation or volume id in a label. */
import { nomadRoute } from '../../../nomad/routes';

describe('nomadRoute', () => {
  it.each([
    ['/v1/jobs', '/v1/jobs'],
    ['/v1/jobs/parse', '/v1/jobs/parse'],
    ['/v1/job/mytest-alice', '/v1/job/:id'],
    ['/v1/job/mytest-alice/allocations', '/v1/job/:id/allocations'],
    ['/v1/job/a%2Fb/evaluations', '/v1/job/:id/evaluations'],
    ['/v1/allocation/5f0c0b0e-aaaa-bbbb-cccc-000000000000', '/v1/allocation/:id'],
    ['/v1/evaluation/abc', '/v1/evaluation/:id'],
    ['/v1/volume/csi/debian_01h_home/create', '/v1/volume/csi/:id/create'],
    ['/v1/volume/csi/debian_01h_home/delete', '/v1/volume/csi/:id/delete'],
    ['/v1/volume/csi/debian_01h_home', '/v1/volume/csi/:id'],
    ['/v1/volume/host/create', '/v1/volume/host/create'],
    ['/v1/volume/host/abc/delete', '/v1/volume/host/:id/delete'],
    ['/v1/volumes?type=csi', '/v1/volumes'],
    ['/v1/something/new/with/ids', 'other'],
  ])('%s → %s', (path, route) => {
    expect(nomadRoute(path)).toBe(route);
  });
});
