#!/bin/sh
# The Debian space's entrypoint, as root: make the space's user (KNOT_USER) with its home on the
# /home volume, run the image's startup hooks (/etc/knot-startup.d/*, as root, in name order), then
# become that user and run the knot agent, so the agent and every shell it opens run as the user.
# Arguments go to the agent (`--help`, flags); its settings come from the job's KNOT_* variables.
set -eu

log() { printf 'knot-space: %s\n' "$*" >&2; }

user="${KNOT_USER:-knot}"
# knot's own username rule (core/names.ts): a Linux login name
case "$user" in
  [a-z]*) ;;
  *) log "KNOT_USER '$user' must start with a lowercase letter"; exit 2 ;;
esac
case "$user" in
  *[!a-z0-9_-]*) log "KNOT_USER '$user' may hold only a-z, 0-9, _ and -"; exit 2 ;;
esac
if [ "${#user}" -gt 32 ]; then log "KNOT_USER '$user' is longer than 32 characters"; exit 2; fi

if [ "$(id -u)" != 0 ]; then
  # started as a user already (the runtime's --user): nothing here may change the system
  log "not root: running the agent as $(id -un) without setting up $user"
  exec knot-agent "$@"
fi

home="/home/$user"
if ! id -u "$user" >/dev/null 2>&1; then
  # uid 1000 so files in a kept home volume stay the user's across restarts and image updates
  if getent passwd 1000 >/dev/null; then uid_opt=""; else uid_opt="--uid 1000"; fi
  # shellcheck disable=SC2086
  useradd $uid_opt --user-group --no-create-home --home-dir "$home" --shell /bin/bash "$user"
fi
uid="$(id -u "$user")"
gid="$(id -g "$user")"

if [ ! -d "$home" ]; then
  # first start on a fresh home volume
  mkdir -p "$home"
  cp -a /etc/skel/. "$home/"
  chown -R "$uid:$gid" "$home"
  chmod 0700 "$home"
else
  # only the top folder: walking a large home on every start would be slow, and its contents are the user's
  chown "$uid:$gid" "$home"
fi

# the space is the user's own machine (the job is the isolation boundary); KNOT_SUDO=false withholds root
if [ "${KNOT_SUDO:-true}" != false ]; then
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" > /etc/sudoers.d/knot-user
  chmod 0440 /etc/sudoers.d/knot-user
else
  rm -f /etc/sudoers.d/knot-user
fi

for hook in /etc/knot-startup.d/*; do
  [ -f "$hook" ] && [ -x "$hook" ] || continue
  log "running $hook"
  # a failing hook fails the space's start: a half-set-up space should not look healthy
  "$hook" || { status=$?; log "$hook failed (exit $status)"; exit "$status"; }
done

shell="$(getent passwd "$user" | cut -d: -f7)"
cd "$home"
exec setpriv --reuid="$uid" --regid="$gid" --init-groups \
  env HOME="$home" USER="$user" LOGNAME="$user" SHELL="${shell:-/bin/bash}" \
  knot-agent "$@"
