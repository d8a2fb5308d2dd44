# The seed 000 space for a bare Nomad client: the `exec` driver (no Docker daemon, no image) with
# the seed's CSI home volume, running the knot agent. The agent comes from the knot server
# (GET /agent/, built by `npm run build`) and runs on the client's own Node.js: the exec driver's
# chroot copies the host's /usr, so a Node.js 20 or newer installed there is inside the task. The
# task also logs its starts in the volume, so a stop/start shows that /home survives. Readiness is
# the agent's /ping (a Nomad-native service check), not just a running process.
job "${{.space.name}}-${{.user.username}}" {
  datacenters = ["${{ .nomad.dc }}"]

  update {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "2s"
    healthy_deadline = "1m"
    auto_revert      = false
  }

  group "debian" {
    count = 1

    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    # host networking: a dynamic port; the agent listens on it ($NOMAD_PORT_knot_port) for /ping
    network {
      port "knot_port" {}
    }

    volume "home_volume" {
      type            = "csi"
      source          = "debian_${{.space.id}}_home"
      read_only       = false
      attachment_mode = "file-system"
      access_mode     = "single-node-writer"
    }

    task "debian" {
      driver = "exec"

      # the agent for this client's CPU (amd64 or arm64), unpacked into local/knot-agent/; the download
      # is checked against the server's SHA256SUMS. The check is go-getter's `checksum=file:<url>` in
      # the source: Nomad (1.6) validates an `options { checksum }` as a literal "type:value" only.
      artifact {
        source      = "${{ .server.url }}/agent/knot-agent-linux-${attr.cpu.arch}.tar.gz?checksum=file:${{ .server.url }}/agent/SHA256SUMS"
        destination = "local/"
      }

      # node from the host's /usr (see the top); the start workflow adds KNOT_AGENT_TOKEN to this env
      config {
        command = "/bin/sh"
        args    = ["-c", "date -u +%Y-%m-%dT%H:%M:%SZ >> /home/starts.log && exec node \"$NOMAD_TASK_DIR/knot-agent/knot-agent.js\""]
      }

      env {
        KNOT_SERVER   = "${{ .server.url }}"
        KNOT_SPACEID  = "${{ .space.id }}"
        KNOT_USER     = "${{ .user.username }}"
        KNOT_LOGLEVEL = "debug"
        # the exec driver sets no HOME: the user's home is the home volume (terminals start there)
        HOME          = "/home"
        TZ            = "${{ user.timezone }}"
      }

      service {
        name     = "${{ .space.id }}"
        provider = "nomad"
        port     = "knot_port"

        check {
          name     = "alive"
          type     = "http"
          path     = "/ping"
          interval = "10s"
          timeout  = "2s"
        }
      }

      volume_mount {
        volume      = "home_volume"
        destination = "/home"
      }

      # Node.js alone takes about 50 MB; the rest is for the shells the user opens
      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
