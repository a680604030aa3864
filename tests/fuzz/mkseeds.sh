#!/bin/sh
# tests/fuzz/mkseeds.sh BUILD: regenerate the fuzz targets' answer seeds
# (tests/fuzz/corpus/adapter and sse) from assay-fixture's official
# endpoints: Chat Completions, Messages and Responses, whole and streamed,
# with a tool call and a 400; Bedrock's Converse, ConverseStream and
# InvokeModelWithResponseStream (curl signs with SigV4; the model id has no
# ':' because curl does not double-encode the path as Bedrock does). Each
# seed starts with the set-up bytes its target reads (see the target's
# header comment). The other corpora are written by hand.
set -eu
build=${1:-build}
out=$(mktemp -d)
world=$out/world.yaml
cat >"$world" <<YAML
seed: 17
provider: {name: official, port: 0}
relays:
  - name: bedrock-official
    port: 0
    bedrock:
      region: us-east-1
      access_key_id: AKIDEXAMPLE
      secret_access_key: wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
      models: {"anthropic.claude-sonnet-4-5-20250929-v1": claude-sonnet-4-5}
YAML
"$build/assay-fixture" -c "$world" --time-scale 0.001 >"$out/fx.out" 2>"$out/fx.err" &
fpid=$!
trap 'kill $fpid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 50); do grep -q bedrock-official "$out/fx.out" && break; sleep 0.1; done
o=$(awk '$2=="official"{print $3}' "$out/fx.out")
b=$(awk '$2=="bedrock-official"{print $3}' "$out/fx.out")/model/anthropic.claude-sonnet-4-5-20250929-v1
A=tests/fuzz/corpus/adapter
S=tests/fuzz/corpus/sse
mkdir -p $A $S

# seed TARGET_DIR NAME PREFIX_OCTALS URL BODY [curl options]
seed() {
  dir=$1 name=$2 prefix=$3 url=$4 body=$5; shift 5
  printf "$prefix" >"$dir/$name"
  curl -s "$url" -H 'Content-Type: application/json' "$@" -d "$body" >>"$dir/$name"
}
an='-H anthropic-version:2023-06-01'
aws() { echo --aws-sigv4 aws:amz:us-east-1:bedrock --user AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY; }
pong='"messages":[{"role":"user","content":"Reply with the single word: pong"}]'
tell='"messages":[{"role":"user","content":"Tell me about lighthouses."}]'
ootool='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"required"'
antool='"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":{"type":"any"}'
cvtool='"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}],"toolChoice":{"any":{}}}'
cvmsg() { echo "\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"$1\"}]}]"; }

# adapter: wire (0 openai, 1 anthropic, 2 responses, 3 converse, 4 invoke),
# flags (1 stream, 6 status 400, 16 listing), piece - 1
seed $A openai-whole '\0\0\377' "$o/chat/completions" "{\"model\":\"gpt-4o\",$pong,\"max_tokens\":16}"
seed $A openai-stream '\0\1\17' "$o/chat/completions" "{\"model\":\"gpt-4o\",$tell,\"max_tokens\":12,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
seed $A openai-tool '\0\1\7' "$o/chat/completions" "{\"model\":\"gpt-4o\",$tell,\"max_tokens\":64,$ootool,\"stream\":true}"
seed $A openai-400 '\0\6\377' "$o/chat/completions" "{\"model\":\"gpt-4o\",$pong,\"bogus\":1}"
printf '\0\20\377' >$A/openai-models; curl -s "$o/models" >>$A/openai-models
seed $A anthropic-whole '\1\0\377' "$o/messages" "{\"model\":\"claude-sonnet-4\",\"max_tokens\":16,$pong}" $an
seed $A anthropic-stream '\1\1\17' "$o/messages" "{\"model\":\"claude-sonnet-4\",\"max_tokens\":12,\"stream\":true,$tell}" $an
seed $A anthropic-tool '\1\1\7' "$o/messages" "{\"model\":\"claude-sonnet-4\",\"max_tokens\":64,\"stream\":true,$antool,$tell}" $an
seed $A anthropic-400 '\1\6\377' "$o/messages" "{\"model\":\"claude-sonnet-4\",$pong}" $an
seed $A responses-whole '\2\0\377' "$o/responses" '{"model":"gpt-4o","input":"Reply with the single word: pong","max_output_tokens":16}'
seed $A responses-stream '\2\1\37' "$o/responses" '{"model":"gpt-4o","input":"Tell me about lighthouses.","max_output_tokens":16,"stream":true}'
seed $A converse-whole '\3\0\377' "$b/converse" "{$(cvmsg 'Reply with the single word: pong'),\"inferenceConfig\":{\"maxTokens\":16}}" $(aws)
seed $A converse-stream '\3\1\37' "$b/converse-stream" "{$(cvmsg 'Tell me about lighthouses.'),\"inferenceConfig\":{\"maxTokens\":12}}" $(aws)
seed $A converse-tool '\3\1\17' "$b/converse-stream" "{$(cvmsg 'Weather in Paris?'),\"inferenceConfig\":{\"maxTokens\":64},$cvtool}" $(aws)
seed $A converse-400 '\3\6\377' "$b/converse" '{"messages":[],"bogus":1}' $(aws)
seed $A invoke-stream '\4\1\37' "$b/invoke-with-response-stream" "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":12,$tell}" $(aws)

# sse: caps byte (1 MiB line and data caps, split at half), stop byte
seed $S openai '\217\0' "$o/chat/completions" "{\"model\":\"gpt-4o\",$tell,\"max_tokens\":12,\"stream\":true}"
seed $S anthropic '\217\0' "$o/messages" "{\"model\":\"claude-sonnet-4\",\"max_tokens\":12,\"stream\":true,$tell}" $an
seed $S responses '\217\0' "$o/responses" '{"model":"gpt-4o","input":"Tell me about lighthouses.","max_output_tokens":16,"stream":true}'
