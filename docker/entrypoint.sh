#!/bin/sh
# seqjepa container entry point: runs one seqjepa command, so that
#   docker run IMAGE seqjepa-train --config ... --shards /data/... --out /outputs/...
# works like on the host. Also accepted: prep/train/eval (short for seqjepa-*), `demo` (the
# `make demo` job, written to $SEQJEPA_OUTPUTS/demo), `ray` and `torchrun` (cluster nodes and
# multi-GPU training), and bash/sh/python for debugging. Anything else is refused with exit 2.
set -eu

SEQJEPA_HOME="${SEQJEPA_HOME:-/opt/seqjepa}"        # configs/ and scripts/ of the repository
export SEQJEPA_HOME                                 # seqjepa-repro finds configs/repro there
SEQJEPA_OUTPUTS="${SEQJEPA_OUTPUTS:-/outputs}"
COMMANDS="seqjepa-prep seqjepa-train seqjepa-eval prep train eval demo ray torchrun bash sh python"

usage() {
    cat <<USAGE
usage: docker run [--shm-size 8g] -v DATA:/data -v WEIGHTS:/weights -v OUT:/outputs IMAGE COMMAND [ARGS...]
commands:
  seqjepa-prep ...    render, saliency, shard, verify, preview, serve (prep ... for short)
  seqjepa-train ...   train on shards (train ... for short)
  seqjepa-eval ...    evaluate a checkpoint (eval ... for short)
  demo [ARGS...]      the paper's claims C1 and C3 at CPU scale (seqjepa-repro --suite demo) into \$SEQJEPA_OUTPUTS/demo
  ray ...             Ray cluster nodes: ray start --head --block | ray start --address HOST:6379 --block
  torchrun ...        several GPUs: torchrun --nproc-per-node N -m seqjepa.train.cli ...
  bash | sh | python  a shell or interpreter, for debugging
presets: $SEQJEPA_HOME/configs/*.yaml
USAGE
}

if [ "$#" -eq 0 ]; then
    usage
    exit 0
fi

cmd="$1"
shift
case "$cmd" in
    -h | --help | help)
        usage
        exit 0
        ;;
    prep | train | eval)
        exec "seqjepa-$cmd" "$@"
        ;;
    demo)
        exec seqjepa-repro --suite demo --out "$SEQJEPA_OUTPUTS/demo" "$@"
        ;;
    seqjepa-* | ray | torchrun | bash | sh | python)
        if ! command -v "$cmd" >/dev/null 2>&1; then
            echo "entrypoint: '$cmd' is not installed in this image; commands: $COMMANDS" >&2
            exit 2
        fi
        exec "$cmd" "$@"
        ;;
    *)
        echo "entrypoint: unknown command '$cmd'; expected one of: $COMMANDS (try --help)" >&2
        exit 2
        ;;
esac
