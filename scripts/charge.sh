#!/usr/bin/env bash
# Essai de charge de la lecture d'une convention (ticket 4) : construit en mode release, prépare
# une base SQLite neuve dans un dossier temporaire (examples/charge_preparation.rs), démarre
# `convention-flux serve` sur 127.0.0.1, attend /health, lance le client de charge
# (examples/charge.rs) puis arrête le serveur et affiche les chiffres.
#
# Usage : scripts/charge.sh [autres options du client de charge…]
#   par exemple : scripts/charge.sh --duree 20 --mise-en-route 3
#   ou, pages par pages, sur la plus grande convention :
#   CHARGE_TAILLE=maximale CHARGE_CONNEXIONS=8 scripts/charge.sh --separement \
#       --pages '/,/conventions/{id},/conventions/{id}/assiette,/api/conventions/{id}/table.xlsx'
# Variables : CHARGE_CONNEXIONS (nombre de connexions, 64 par défaut), CHARGE_PORT (port
#   d'écoute, 18080 par défaut), CHARGE_TAILLE (demo, par défaut, ou maximale : 120 000
#   logements et 150 réservataires, quelques minutes de préparation), CHARGE_DOSSIER (dossier de
#   travail conservé ; par défaut un dossier temporaire supprimé à la fin ; s'il contient déjà
#   une base préparée, elle est reprise telle quelle).
# Le client lit à la fin le pic de mémoire résidente du serveur (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${CHARGE_PORT:-18080}"
CONNEXIONS="${CHARGE_CONNEXIONS:-64}"
TAILLE="${CHARGE_TAILLE:-demo}"
# Le dossier des binaires suit celui de cargo.
CIBLE="${CARGO_TARGET_DIR:-target}/release"
ADRESSE="127.0.0.1:${PORT}"
BASE_URL="http://${ADRESSE}"

echec() {
    printf 'échec de l’essai de charge : %s\n' "$*" >&2
    exit 1
}

if [[ -n "${CHARGE_DOSSIER:-}" ]]; then
    DOSSIER="$CHARGE_DOSSIER"
    GARDER=1
    mkdir -p "$DOSSIER" || echec "création du dossier $DOSSIER impossible"
else
    DOSSIER="$(mktemp -d "${TMPDIR:-/tmp}/convention-flux-charge.XXXXXX")" ||
        echec "création d’un dossier temporaire impossible"
    GARDER=0
fi
SERVEUR_PID=""

nettoyer() {
    local code=$?
    if [[ -n "$SERVEUR_PID" ]] && kill -0 "$SERVEUR_PID" 2>/dev/null; then
        kill -TERM "$SERVEUR_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVEUR_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVEUR_PID" 2>/dev/null || true
        wait "$SERVEUR_PID" 2>/dev/null || true
    fi
    if [[ "$GARDER" == 0 ]]; then
        rm -rf "$DOSSIER"
    fi
    exit "$code"
}
trap nettoyer EXIT
trap 'echec "interrompu"' INT TERM

command -v cargo >/dev/null || echec "cargo est introuvable (installez Rust)"
command -v curl >/dev/null || echec "curl est introuvable (apt-get install curl)"

echo "== Construction en mode release =="
cargo build --release --examples --bin convention-flux ||
    echec "la construction en mode release a échoué"

if [[ "$GARDER" == 1 && -f "$DOSSIER/charge.env" ]]; then
    echo "== Base déjà préparée reprise (dossier $DOSSIER) =="
else
    echo "== Préparation de la base, taille $TAILLE (dossier $DOSSIER) =="
    "$CIBLE/examples/charge_preparation" --dossier "$DOSSIER" --taille "$TAILLE" ||
        echec "la préparation de la base a échoué"
fi
# shellcheck source=/dev/null
source "$DOSSIER/charge.env" || echec "lecture de $DOSSIER/charge.env impossible"

if curl -s -o /dev/null "$BASE_URL/health"; then
    echec "le port $PORT est déjà utilisé : choisissez-en un autre avec CHARGE_PORT"
fi

echo "== Démarrage du serveur sur $ADRESSE =="
DATABASE_URL="sqlite://$CHARGE_BASE" \
    CONVENTION_FLUX_LISTEN="$ADRESSE" \
    CONVENTION_FLUX_PLATFORM_KEY_PATH="$DOSSIER/cle-plateforme-ed25519.txt" \
    CONVENTION_FLUX_SESSION_KEY_PATH="$DOSSIER/cle-sessions.txt" \
    CONVENTION_FLUX_BASE_URL="$BASE_URL" \
    CONVENTION_FLUX_LOG=warn \
    "$CIBLE/convention-flux" serve >"$DOSSIER/serveur.log" 2>&1 &
SERVEUR_PID=$!

pret=0
for _ in $(seq 1 100); do
    if ! kill -0 "$SERVEUR_PID" 2>/dev/null; then
        cat "$DOSSIER/serveur.log" >&2 || true
        echec "le serveur s’est arrêté au démarrage (journal ci-dessus)"
    fi
    if curl -sf -o /dev/null "$BASE_URL/health"; then
        pret=1
        break
    fi
    sleep 0.1
done
[[ "$pret" == 1 ]] || echec "le serveur ne répond pas sur $BASE_URL/health après 10 s"

echo "== Charge : convention n° $CHARGE_CONVENTION, $CONNEXIONS connexions =="
echo "Machine : $(nproc) cœur(s) partagés par le client et le serveur ; charge avant l’essai : $(cut -d' ' -f1-3 /proc/loadavg)"
statut=0
export CHARGE_MOT_DE_PASSE
"$CIBLE/examples/charge" \
    --base "$BASE_URL" \
    --convention "$CHARGE_CONVENTION" \
    --courriel "$CHARGE_COURRIEL" \
    --connexions "$CONNEXIONS" \
    --pid-serveur "$SERVEUR_PID" \
    "$@" || statut=$?

if ! kill -0 "$SERVEUR_PID" 2>/dev/null; then
    cat "$DOSSIER/serveur.log" >&2 || true
    echec "le serveur s’est arrêté pendant l’essai (journal ci-dessus)"
fi
journal="$(grep -v 'est disponible' "$DOSSIER/serveur.log" | tail -n 20 || true)"
if [[ -n "$journal" ]]; then
    echo "-- journal du serveur (avertissements et erreurs) --"
    echo "$journal"
fi
[[ "$statut" == 0 ]] || echec "le client de charge a signalé des erreurs (code $statut)"
echo "Essai de charge terminé sans erreur."
