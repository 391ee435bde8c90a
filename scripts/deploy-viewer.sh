#!/usr/bin/env bash
# Publishes the Config Viewer (viewer_static/) to the stack's S3 website bucket.
#
#   scripts/deploy-viewer.sh [STACK_NAME] [extra `aws s3 sync` options, e.g. --dryrun]
#
# Reads the stack outputs ViewerBucketName, ApiUrl and ViewerUrl, uploads viewer_static/ with a config.js that
# points the viewer at ApiUrl, and warns when the stack's ViewerOrigin parameter (the only origin the API's CORS
# allows) is not the viewer's URL. Overrides, for LocalStack/moto or a CloudFront front: VIEWER_BUCKET, VIEWER_API_URL,
# VIEWER_URL (set all three and no stack is read); AWS_ENDPOINT_URL and AWS_REGION/AWS_PROFILE as usual for the aws CLI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${1:-${STACK_NAME:-chatwoot-ai}}"
[ $# -gt 0 ] && shift

die() { echo "deploy-viewer: $*" >&2; exit 1; }
command -v aws >/dev/null 2>&1 || die "the aws CLI is required (pip install awscli, or AWS CLI v2)"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text
}

BUCKET="${VIEWER_BUCKET:-}"
API_URL="${VIEWER_API_URL:-}"
SITE_URL="${VIEWER_URL:-}"
if [ -z "$BUCKET" ] || [ -z "$API_URL" ] || [ -z "$SITE_URL" ]; then
  [ -n "$BUCKET" ] || BUCKET="$(output ViewerBucketName)"
  [ -n "$API_URL" ] || API_URL="$(output ApiUrl)"
  [ -n "$SITE_URL" ] || SITE_URL="$(output ViewerUrl)"
fi
[ -n "$BUCKET" ] && [ "$BUCKET" != "None" ] || die "stack $STACK has no ViewerBucketName output (is it deployed?)"
[ -n "$API_URL" ] && [ "$API_URL" != "None" ] || die "stack $STACK has no ApiUrl output"

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$ROOT/viewer_static/." "$STAGE/"
# The bucket's config.js names the API; the copy in the repo stays empty (same origin, as the local runner serves it).
printf '// Written by scripts/deploy-viewer.sh for stack %s.\nwindow.VIEWER_CONFIG = { apiUrl: "%s" };\n' \
  "$STACK" "${API_URL%/}" > "$STAGE/config.js"

# no-cache: browsers revalidate, so a deploy is visible at once (the files are small).
aws s3 sync "$STAGE/" "s3://$BUCKET/" --delete --cache-control "no-cache" "$@"

echo "Viewer published to s3://$BUCKET (API: ${API_URL%/})"
[ -n "$SITE_URL" ] && [ "$SITE_URL" != "None" ] && echo "Open: $SITE_URL"

if [ -z "${VIEWER_BUCKET:-}" ]; then
  ORIGIN="$(aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Parameters[?ParameterKey=='ViewerOrigin'].ParameterValue | [0]" --output text)"
  if [ "${ORIGIN%/}" != "${SITE_URL%/}" ]; then
    echo "warning: the API allows CORS from ViewerOrigin=$ORIGIN, not from $SITE_URL." >&2
    echo "         Redeploy with: sam deploy --parameter-overrides ViewerOrigin=${SITE_URL%/} ..." >&2
  fi
fi
