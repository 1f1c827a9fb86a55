#!/usr/bin/env bash
# Starts and stops a throwaway OpenLDAP server (Debian's slapd) for Berth's LDAP tests and
# local experiments: no systemd and nothing outside one folder. The directory is
# dc=example,dc=org with the manager cn=admin,dc=example,dc=org (password "admin-secret"),
# loaded from an LDIF (default test/fixtures/ldap.ldif), served on loopback only.
#
#   scripts/slapd.sh start DIR PORT [LDIF]   load the LDIF into a new database under DIR and start slapd
#   scripts/slapd.sh stop DIR                stop the slapd started under DIR (its pid file)
#
# With BERTH_SLAPD_TLS_PORT set, a throwaway CA and a certificate for 127.0.0.1 are made under
# DIR/tls (DIR/tls/ca.pem is the CA to trust): plain ldap:// on PORT offers StartTLS, and
# ldaps:// listens on BERTH_SLAPD_TLS_PORT.
#
# Needs: apt-get install -y slapd ldap-utils
set -euo pipefail

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || { echo "usage: $0 start DIR PORT [LDIF] | stop DIR" >&2; exit 2; }
SLAPD=${BERTH_SLAPD:-/usr/sbin/slapd}
SLAPADD=${BERTH_SLAPADD:-/usr/sbin/slapadd}

case $cmd in
  start)
    PORT=${3:?port}
    LDIF=${4:-$(dirname "$0")/../test/fixtures/ldap.ldif}
    [[ -x $SLAPD ]] || { echo "slapd: $SLAPD not found (apt-get install -y slapd)" >&2; exit 1; }
    mkdir -p "$DIR/db"
    HASH=$(/usr/sbin/slappasswd -s admin-secret)
    TLS_CONF=""
    URLS="ldap://127.0.0.1:$PORT/"
    if [[ -n ${BERTH_SLAPD_TLS_PORT:-} ]]; then
      T=$DIR/tls
      mkdir -p "$T"
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test CA" -keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1
      openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/server.key" -out "$T/server.csr" >/dev/null 2>&1
      printf 'subjectAltName=IP:127.0.0.1\n' > "$T/san.ext"
      openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/san.ext" -out "$T/server.pem" >/dev/null 2>&1
      chmod 600 "$T/server.key"
      TLS_CONF="TLSCACertificateFile $T/ca.pem
TLSCertificateFile $T/server.pem
TLSCertificateKeyFile $T/server.key"
      URLS="$URLS ldaps://127.0.0.1:$BERTH_SLAPD_TLS_PORT/"
    fi
    cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
$TLS_CONF
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw $HASH
directory $DIR/db
index objectClass eq
index uid eq
index member eq
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by * read
CONF
    "$SLAPADD" -q -f "$DIR/slapd.conf" -l "$LDIF" >"$DIR/slapadd.log" 2>&1 || { cat "$DIR/slapadd.log" >&2; exit 1; }
    "$SLAPD" -f "$DIR/slapd.conf" -h "$URLS" >"$DIR/slapd.log" 2>&1 || { cat "$DIR/slapd.log" >&2; exit 1; }
    # slapd forks; wait until it answers.
    for _ in $(seq 1 100); do
      if ldapsearch -x -H "ldap://127.0.0.1:$PORT/" -b "dc=example,dc=org" -s base "(objectClass=*)" dn >/dev/null 2>&1; then exit 0; fi
      sleep 0.1
    done
    echo "slapd did not answer on port $PORT" >&2
    exit 1
    ;;
  stop)
    if [[ -f $DIR/slapd.pid ]]; then
      pid=$(cat "$DIR/slapd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    ;;
  *)
    echo "usage: $0 start DIR PORT [LDIF] | stop DIR" >&2
    exit 2
    ;;
esac
