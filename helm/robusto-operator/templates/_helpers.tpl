{{- define "robusto.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "robusto.serviceAccountName" -}}
{{- default (include "robusto.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "robusto.labels" -}}
app.kubernetes.io/name: robusto-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "robusto.selectorLabels" -}}
app.kubernetes.io/name: robusto-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "robusto.databaseSecret" -}}
{{- default (printf "%s-database" (include "robusto.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{- /* The Secret and key holding the schema owner's password (the migration step's only). */}}
{{- define "robusto.ownerSecret" -}}
{{- default (include "robusto.databaseSecret" .) .Values.database.owner.existingSecret -}}
{{- end -}}
{{- define "robusto.ownerSecretKey" -}}
{{- if or .Values.database.existingSecret .Values.database.owner.existingSecret -}}
{{- .Values.database.owner.existingSecretKey -}}
{{- else -}}
owner-password
{{- end -}}
{{- end -}}

{{- /* The audit checkpointer's pods: apart from the operator's, so its Service never selects them. */}}
{{- define "robusto.checkpointerSelectorLabels" -}}
app.kubernetes.io/name: robusto-audit-checkpointer
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* The Secret and key holding the audit checkpointer's database password. */}}
{{- define "robusto.checkpointerSecret" -}}
{{- default (include "robusto.databaseSecret" .) .Values.audit.checkpointer.database.existingSecret -}}
{{- end -}}
{{- define "robusto.checkpointerSecretKey" -}}
{{- if or .Values.database.existingSecret .Values.audit.checkpointer.database.existingSecret -}}
{{- .Values.audit.checkpointer.database.existingSecretKey -}}
{{- else -}}
checkpointer-password
{{- end -}}
{{- end -}}

{{- /* The Secret holding the platform keys that wrap tenants' payload data keys (key payload-keys). */}}
{{- define "robusto.payloadKeysSecret" -}}
{{- default (printf "%s-payload-keys" (include "robusto.fullname" .)) .Values.payloadEncryption.existingSecret -}}
{{- end }}

{{- /* The Secret holding the audit chain's seal keys (key seal-keys). */}}
{{- define "robusto.sealKeysSecret" -}}
{{- default (printf "%s-audit-seal-keys" (include "robusto.fullname" .)) .Values.audit.sealKeys.existingSecret -}}
{{- end -}}

{{- /* The operator's image (the workers' too): pinned by digest when one is given. */}}
{{- define "robusto.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- /* The Secret with the operator's HTTPS certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "robusto.tlsSecret" -}}
{{- default (printf "%s-tls" (include "robusto.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{- /* The JDBC URL: database.url, verifying the server against database.tls's CA when one is named
(pgjdbc reads the PEM from the ROBUSTO_DATABASE_CA environment variable of each process). */}}
{{- define "robusto.databaseUrl" -}}
{{- if .Values.database.tls.caSecret -}}
{{- printf "%s%ssslmode=verify-full&sslfactory=org.postgresql.ssl.SingleCertValidatingFactory&sslfactoryarg=env:ROBUSTO_DATABASE_CA" .Values.database.url (ternary "&" "?" (contains "?" .Values.database.url)) -}}
{{- else -}}
{{- .Values.database.url -}}
{{- end -}}
{{- end -}}

{{- /* ROBUSTO_DATABASE_CA, the CA the URL verifies the server against, when database.tls names one. */}}
{{- define "robusto.databaseCaEnv" -}}
- name: ROBUSTO_DATABASE_CA
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.tls.caSecret }}
      key: {{ .Values.database.tls.caSecretKey }}
{{- end -}}
