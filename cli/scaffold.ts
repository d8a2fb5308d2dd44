/**
 * `knot scaffold --nomad`: a Nomad job deploying this knot image (see Containerfile) as two
 * groups — the API and the worker — each scaled on its own, both on the same store and Temporal
 * cluster. Adapted from the upstream example job.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package version, so the default image tag follows the code that printed the job. */
export function knotVersion(): string {
  for (const candidate of [path.join(__dirname, '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'knot' && pkg.version) return pkg.version;
    } catch {
      // try the next place (source tree vs dist/)
    }
  }
  return 'latest';
}

/** What `buildah bud -t localhost/knot:<version> -f Containerfile .` produces; push it and pass --image. */
export function defaultImage(): string {
  return `localhost/knot:${knotVersion()}`;
}

export interface ScaffoldOptions {
  image?: string;
  serverCount?: number;
  workerCount?: number;
}

const CONFIG = `log:
  level: info
server:
  listen: 0.0.0.0:3000
  url: "https://knot.example.com"
  wildcard_domain: "*.knot.example.com"
  encrypt: "knot genkey"
  # behind the ingress every client arrives from the proxy: believe its X-Forwarded-For
  trust_proxy: 1

  mysql:
    enabled: true
    host: ""
    database: knot
    user: ""
    password: ""
  # Or Redis alone (seed 001, "Without MySQL"): drop the mysql section and enable this one. Run
  # that Redis as a database (appendonly yes, no eviction): it then holds all of knot's data.
  # With MySQL, an enabled Redis keeps only the agents' state.
  redis:
    enabled: false
    host: "srv+redis.service.consul"
    password: ""
    db: 0

  nomad:
    addr: "http://nomad.service.consul:4646"
    token: ""

  # A Temporal cluster knot can reach (frontend gRPC, default port 7233), with the Keyword search
  # attributes KnotSpaceId, KnotUser, KnotOperation, KnotTemplate registered in this namespace.
  temporal:
    address: "temporal.service.consul:7233"
    namespace: default
    task_queue: knot

  metrics:
    enabled: true
    token: ""
    # the worker serves its own /metrics here (operations, steps, Nomad calls, sweeps)
    worker_listen: 0.0.0.0:9464`;

function task(name: string, command: 'server' | 'worker', image: string): string {
  const isServer = command === 'server';
  const port = isServer ? 'knot_port' : 'metrics_port';
  const service = isServer
    ? `
      service {
        name = "\${NOMAD_JOB_NAME}"
        port = "knot_port"

        # Expose the port on a domain name
        # tags = [
        #  "urlprefix-knot.example.com proto=https tlsskipverify=true",
        #  "urlprefix-*.knot.example.com proto=https tlsskipverify=true"
        # ]

        check {
          name     = "alive"
          type     = "http"
          path     = "/health"
          interval = "10s"
          timeout  = "2s"
        }
      }`
    : `
      service {
        name = "\${NOMAD_JOB_NAME}-worker"
        port = "metrics_port"

        check {
          name     = "metrics"
          type     = "http"
          path     = "/metrics"
          interval = "30s"
          timeout  = "2s"
        }
      }`;
  return `    task "${name}" {
      driver = "docker"
      config {
        # the image's entrypoint is \`knot\`
        image = "${image}"
        args  = ["${command}"]
        ports = ["${port}"]
      }

      env {
        KNOT_CONFIG = "/local/knot.yml"
${isServer ? '        # where the other API replicas reach this one: sessions to an agent linked here are relayed through it\n        KNOT_ADVERTISE_URL = "http://${NOMAD_ADDR_knot_port}"\n' : '        KNOT_HEALTHCHECK_URL = "http://127.0.0.1:9464/metrics"\n'}      }

      template {
        data        = <<EOF
${CONFIG}
EOF
        destination = "local/knot.yml"
      }

      # the API leaves the service catalog first, then drains (its agents relink to another
      # replica); the worker finishes the activities in hand (docs/scaling.md)
      ${isServer ? 'shutdown_delay = "5s"\n      kill_timeout   = "30s"' : 'kill_timeout = "60s"'}

      resources {
        cpu    = 1000
        memory = 768
      }
${service}
    }`;
}

export function nomadServerJob(opts: ScaffoldOptions = {}): string {
  const image = opts.image ?? defaultImage();
  return `# knot ${knotVersion()}: the API and the worker as two groups, scaled independently.
# Build and push the image first (see the README), then set \`image\` (knot scaffold --nomad --image ...).
# Both groups need the same store (MySQL, or Redis alone) and a Temporal cluster (server.temporal.*); the worker
# creates the knot-auto-stop and knot-cleanup Schedules there at start.
job "knot-server" {
  datacenters = ["dc1"]

  # Rolling updates, one allocation at a time, each healthy by its checks before the next; a
  # release that never gets healthy rolls back. With two of each (the default), one always serves.
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "30s"
    healthy_deadline  = "2m"
    progress_deadline = "10m"
    auto_revert       = true
  }

  # The API: stateless, scale for request load.
  group "knot-server" {
    count = ${opts.serverCount ?? 2}

    network {
      port "knot_port" {
        to = 3000
      }
    }

${task('knot-server', 'server', image)}
  }

  # The worker: runs the space lifecycle workflows and the sweeps; scale for operation load.
  group "knot-worker" {
    count = ${opts.workerCount ?? 2}

    network {
      port "metrics_port" {
        to = 9464
      }
    }

${task('knot-worker', 'worker', image)}
  }
}
`;
}
