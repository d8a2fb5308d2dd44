/** `knot scaffold --nomad`: a Nomad job deploying the knot server and worker (seed 001, adapted). */

const CONFIG = `log:
  level: info
server:
  listen: 0.0.0.0:3000
  url: "https://knot.example.com"
  wildcard_domain: "*.knot.example.com"
  encrypt: "knot genkey"

  mysql:
    enabled: true
    host: ""
    database: knot
    user: ""
    password: ""

  nomad:
    addr: "http://nomad.service.consul:4646"
    token: ""

  temporal:
    address: "temporal.service.consul:7233"
    namespace: default
    task_queue: knot`;

function task(name: string, command: 'server' | 'worker', withPort: boolean): string {
  const port = withPort ? '\n        ports   = ["knot_port"]' : '';
  const service = withPort
    ? `

      service {
        name = "\${NOMAD_JOB_NAME}"
        port = "knot_port"

        check {
          name     = "alive"
          type     = "http"
          path     = "/health"
          interval = "10s"
          timeout  = "2s"
        }
      }`
    : '';
  return `    task "${name}" {
      driver = "docker"
      config {
        image   = "paularlott/knot:latest"
        command = "knot"
        args    = ["${command}"]${port}
      }

      env {
        KNOT_CONFIG = "/local/knot.yml"
      }

      template {
        data        = <<EOF
${CONFIG}
EOF
        destination = "local/knot.yml"
      }

      resources {
        cpu    = 256
        memory = 512
      }${service}
    }`;
}

export function nomadServerJob(): string {
  return `job "knot-server" {
  datacenters = ["dc1"]

  update {
    max_parallel     = 1
    min_healthy_time = "30s"
    healthy_deadline = "1m"
    auto_revert      = true
  }

  group "knot-server" {
    count = 1

    network {
      port "knot_port" {
        to = 3000
      }
    }

${task('knot-server', 'server', true)}
  }

  # The worker runs the space lifecycle workflows against the same Temporal cluster and store.
  group "knot-worker" {
    count = 1

${task('knot-worker', 'worker', false)}
  }
}
`;
}
