#!/usr/bin/env bash
# Creates the AWS Load Balancer Controller's webhook TLS in the current kubectl context: a CA and
# a serving certificate for aws-load-balancer-webhook-service.kube-system.svc, stored as the
# Secret aws-load-balancer-tls (mounted by the controller), and the CA patched into the caBundle
# of every webhook of aws-load-balancer-webhook (mutating and validating). The Helm chart does
# the same at template time; doing it here keeps private keys out of the repository.
# Run once per cluster after the first `kubectl apply -k deploy/k8s/overlays/<env>`, and again to
# rotate (then `kubectl -n kube-system rollout restart deployment aws-load-balancer-controller`).
#   webhook-tls.sh              apply to the cluster
#   webhook-tls.sh --dry-run    print the Secret and the patches instead (no cluster needed)
set -euo pipefail

NAMESPACE=kube-system
SERVICE=aws-load-balancer-webhook-service
SECRET_NAME=aws-load-balancer-tls
WEBHOOKS=aws-load-balancer-webhook
DAYS=825
dry_run=false
[[ ${1:-} == --dry-run ]] && dry_run=true

command -v openssl >/dev/null || { echo "webhook-tls.sh: openssl is required" >&2; exit 1; }
$dry_run || command -v kubectl >/dev/null || { echo "webhook-tls.sh: kubectl is required" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

openssl req -x509 -newkey rsa:2048 -nodes -days "$DAYS" -subj "/CN=aws-load-balancer-controller-ca" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$SERVICE.$NAMESPACE.svc" \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$SERVICE" "$NAMESPACE" "$SERVICE" "$NAMESPACE" "$SERVICE" "$NAMESPACE" >"$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days "$DAYS" -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

b64() { base64 -w0 <"$1"; }
secret_yaml() {
  cat <<YAML
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: $SECRET_NAME
  namespace: $NAMESPACE
  labels:
    app.kubernetes.io/name: aws-load-balancer-controller
    app.kubernetes.io/part-of: crest
    app.kubernetes.io/component: cluster-addon
data:
  ca.crt: $(b64 "$work/ca.crt")
  tls.crt: $(b64 "$work/tls.crt")
  tls.key: $(b64 "$work/tls.key")
YAML
}
# A JSON patch setting caBundle on webhooks 0..count-1.
ca_patch() {
  local count=$1 ca sep="" i
  ca=$(b64 "$work/ca.crt")
  printf '['
  for ((i = 0; i < count; i++)); do
    printf '%s{"op":"add","path":"/webhooks/%d/clientConfig/caBundle","value":"%s"}' "$sep" "$i" "$ca"
    sep=","
  done
  printf ']\n'
}

if $dry_run; then
  secret_yaml
  echo "---"
  echo "# mutatingwebhookconfiguration/$WEBHOOKS and validatingwebhookconfiguration/$WEBHOOKS:"
  echo "# caBundle of every webhook = base64 of $(openssl x509 -in "$work/ca.crt" -noout -subject)"
  exit 0
fi

secret_yaml | kubectl apply -f -
for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
  count=$(kubectl get "$kind" "$WEBHOOKS" -o jsonpath='{range .webhooks[*]}x{end}' | tr -d '\n' | wc -c)
  ((count > 0)) || { echo "webhook-tls.sh: $kind/$WEBHOOKS has no webhooks: apply the overlay first" >&2; exit 1; }
  kubectl patch "$kind" "$WEBHOOKS" --type=json -p "$(ca_patch "$count")"
done
echo "webhook TLS installed; restart the controller to load it:" \
  "kubectl -n $NAMESPACE rollout restart deployment aws-load-balancer-controller"
