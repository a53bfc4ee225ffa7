# Sourced by the fixture scripts (bash).
#
# ensure_packages SCRIPT WHAT CHECK PACKAGE...: when the command CHECK fails,
# install the Debian packages with apt-get (as root, or through sudo) and run
# CHECK again. Exits 1, naming SCRIPT, when apt-get cannot run or the packages
# are still missing.
ensure_packages() {
  local script=$1 what=$2 check=$3
  shift 3
  "$check" && return 0
  echo "$script: installing $what with apt-get" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$script: $what missing, and apt-get needs root" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
  "$check" || { echo "$script: the packages are still missing after apt-get" >&2; exit 1; }
}
