# bulwark reconciler: turns `kubectl get pods -o json` into a complete
# deployment report for bulwark server (docs/server.md, "Gone"):
#
#   kubectl get pods -n shop -o json |
#     jq -f reconcile.jq --arg cluster prod --arg namespace shop --arg at "$(date -u +%FT%TZ)" |
#     curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data @- "$BULWARK/api/v1/deployments"
#
# (--arg namespace "" with `kubectl get pods -A`: the whole cluster.) Take
# the time before listing. Each pod that has not finished (phase Pending,
# Running or Unknown) is named as bulwark admission names it
# (docs/admission.md, "Reporting to bulwark server"), with the digests of
# its containers: the runtime's imageID, and the image reference's own
# @sha256: digest.

# workload names a pod as internal/admission/k8s.WorkloadOf does.
def workload:
  . as $p
  | ($p.metadata.labels["pod-template-hash"] // "") as $h
  | [($p.metadata.ownerReferences // [])[] | select(.controller == true)] as $c
  | if ($c | length) != 1 or ($c[0].name | type) != "string" or ($c[0].name | test("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$") | not) then "pod/" + $p.metadata.name
    else ($c[0].apiVersion | if test("/") then split("/")[0] else "" end) as $group
    | if $group == "apps" and $c[0].kind == "ReplicaSet" and $h != "" and ($c[0].name | endswith("-" + $h)) and ($c[0].name | length) > ($h | length) + 1
        then "deployment/" + ($c[0].name | .[0:length - ($h | length) - 1])
      elif ($group + "/" + $c[0].kind | IN("apps/ReplicaSet", "apps/StatefulSet", "apps/DaemonSet", "batch/Job", "/ReplicationController"))
        then ($c[0].kind | ascii_downcase) + "/" + $c[0].name
      else "pod/" + $p.metadata.name end
    end;

# digests lists a pod's image digests.
def digests:
  [((.spec.initContainers // []) + (.spec.containers // []) + (.spec.ephemeralContainers // []))[].image,
   ((.status.initContainerStatuses // []) + (.status.containerStatuses // []) + (.status.ephemeralContainerStatuses // []))[].imageID]
  | map(select(type == "string") | capture("@(?<d>sha256:[0-9a-f]{64})$").d) | unique;

{complete: ({platform: "kubernetes", cluster: $cluster, at: $at} + (if $namespace == "" then {} else {namespace: $namespace} end)),
 deployments: [.items[] | select(.status.phase | IN("Pending", "Running", "Unknown")) | workload as $w | .metadata.namespace as $ns
   | digests[] | {platform: "kubernetes", cluster: $cluster, namespace: $ns, name: $w, digest: .}] | unique}
