# The seed 000 space for a bare Nomad client: the `exec` driver (no Docker daemon needed) with the
# seed's CSI home volume. The task keeps a log of its starts in the volume, so a stop/start shows
# that /home survives. Readiness is the tasks' state: the agent image's /ping is not here.
job "${{.space.name}}-${{.user.username}}" {
  datacenters = ["${{ .nomad.dc }}"]

  update {
    max_parallel     = 1
    health_check     = "task_states"
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

    network {
      port "knot_port" {
        to = 3000
      }
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

      config {
        command = "/bin/sh"
        args    = ["-c", "date -u +%Y-%m-%dT%H:%M:%SZ >> /home/starts.log && exec sleep 86400"]
      }

      env {
        KNOT_SERVER   = "${{ .server.url }}"
        KNOT_SPACEID  = "${{ .space.id }}"
        KNOT_USER     = "${{ .user.username }}"
        KNOT_LOGLEVEL = "debug"
        TZ            = "${{ user.timezone }}"
      }

      volume_mount {
        volume      = "home_volume"
        destination = "/home"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
