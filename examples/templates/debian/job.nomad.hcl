job "${{.space.name}}-${{.user.username}}" {
  datacenters = ["dc1"]

  update {
    max_parallel = 1
    min_healthy_time = "30s"
    healthy_deadline = "1m"
    auto_revert = false
  }

  group "debian" {
    count = 1

    network {
      port "knot_port" {
        to = 3000
      }
    }

    volume "home_volume" {
      type   = "csi"
      source = "debian_${{.space.id}}_home"
      read_only = false
      attachment_mode = "file-system"
      access_mode     = "single-node-writer"
    }

    task "debian" {
      driver = "docker"
      config {
        image = "ghcr.io/paularlott/knot-base-debian:bookworm"

        ports = ["knot_port"]
      }

      env {
        # Define environment variables for agent
        KNOT_SERVER = "${{ .server.url }}"
        KNOT_SPACEID = "${{ .space.id }}"
        KNOT_SSH_PORT = "22"
        KNOT_TCP_PORT = "80"
        KNOT_HTTP_PORT = "80"
        KNOT_CODE_SERVER_PORT = "8080"
        KNOT_LOGLEVEL = "debug"
        KNOT_USER = "${{ .user.username }}"

        TZ = "${{ user.timezone }}"
      }

      volume_mount {
        volume      = "home_volume"
        destination = "/home"
      }

      resources {
        cpu = 300
        memory = 512
      }

      # Knot Agent Port
      service {
        name = "${{ .space.id }}"
        port = "knot_port"

        check {
          name     = "alive"
          type     = "http"
          path     = "/ping"
          interval = "10s"
          timeout  = "2s"
        }
      }
    }
  }
}
