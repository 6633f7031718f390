"""The JSON-RPC contract, driven by the server's own OpenRPC document (`/api/openrpc.json`):
what schemathesis does for the REST half. For every method, params generated from its schema
(valid ones, with real ids: accounts, characters, a combat, a trade and a chat message are
made first; and invalid ones, each breaking the schema one way) are sent to a real server, and
every answer is checked: a result against the method's declared result schema, an error
against its declared errors (code and `data.code`), never an internal error, never
`-32602` for valid params and always `-32602` for invalid ones. Every notification a
WebSocket received meanwhile is checked against its declared params.

Usage: contrat.py <base URL> <mmo binary> <database URL>; MMO_CONTRAT_EXEMPLES (default 40)
valid calls per method, as many invalid ones; MMO_CONTRAT_GRAINE the seed. Exits non-zero
with every failure listed.
"""

import copy
import json
import os
import random
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import jsonschema
from websockets.sync.client import connect

BASE, MMO, BASE_DE_DONNEES = sys.argv[1], sys.argv[2], sys.argv[3]
EXEMPLES = int(os.environ.get("MMO_CONTRAT_EXEMPLES", "40"))
HASARD = random.Random(int(os.environ.get("MMO_CONTRAT_GRAINE", "20261207")))
ECHECS = []


def http(methode, chemin, corps=None, jeton=None):
    donnees = None if corps is None else json.dumps(corps).encode()
    requete = urllib.request.Request(BASE + chemin, data=donnees, method=methode)
    requete.add_header("content-type", "application/json")
    if jeton:
        requete.add_header("authorization", "Bearer " + jeton)
    try:
        with urllib.request.urlopen(requete, timeout=30) as r:
            texte = r.read()
            return r.status, json.loads(texte) if texte else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


SEQUENCE = iter(range(1, 10**9))


def rpc_brut(jeton, methode, params):
    """One call over POST /rpc: the whole answer."""
    appel = {"jsonrpc": "2.0", "id": next(SEQUENCE), "method": methode}
    if params is not None:
        appel["params"] = params
    statut, reponse = http("POST", "/rpc", appel, jeton)
    if statut != 200 or not isinstance(reponse, dict) or reponse.get("id") != appel["id"]:
        raise SystemExit(f"réponse hors JSON-RPC à {methode} {params} : {statut} {reponse}")
    return reponse


def rpc(jeton, methode, params):
    """A call that must succeed during the setup."""
    r = rpc_brut(jeton, methode, params)
    if "error" in r:
        raise SystemExit(f"préparation : {methode} {params} a échoué : {r['error']}")
    return r["result"]


def compte(login):
    ids = {"login": login, "mot_de_passe": "une phrase de passe"}
    statut, corps = http("POST", "/api/comptes", ids)
    assert statut == 201, (statut, corps)
    statut, session = http("POST", "/api/sessions", ids)
    assert statut == 200, (statut, session)
    return session


# ---------------------------------------------------------------- the document

statut, DOC = http("GET", "/api/openrpc.json")
assert statut == 200, statut
COMPOSANTS = DOC.get("components", {})
METHODES = {m["name"]: m for m in DOC["methods"]}


def valideur(schema):
    racine = dict(schema)
    racine["components"] = COMPOSANTS
    return jsonschema.Draft7Validator(racine, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def resoudre(schema):
    while isinstance(schema, dict) and "$ref" in schema:
        chemin = schema["$ref"].removeprefix("#/").split("/")
        cible = DOC
        for morceau in chemin:
            cible = cible[morceau]
        schema = cible
    return schema


def schema_des_params(methode):
    """The whole params object: `x-params` (the type the dispatcher reads, as one schema),
    else rebuilt from the content descriptors."""
    if "x-params" in methode:
        return methode["x-params"]
    return {
        "type": "object",
        "properties": {p["name"]: p["schema"] for p in methode["params"]},
        "required": [p["name"] for p in methode["params"] if p.get("required")],
        "additionalProperties": False,
    }


# ---------------------------------------------------------------- the world

print("contrat : préparation (comptes, personnages, combat, échange, message)")
alice = compte("alice_contrat")
bob = compte("bob_contrat")
admin = compte("admin_contrat")
subprocess.run(
    [MMO, "admin", "promouvoir", "admin_contrat"],
    check=True,
    env={**os.environ, "MMO_DATABASE_URL": BASE_DE_DONNEES},
    stdout=subprocess.DEVNULL,
)
statut, admin = http("POST", "/api/sessions", {"login": "admin_contrat", "mot_de_passe": "une phrase de passe"})
assert statut == 200 and admin["admin"], admin

socket = connect(BASE.replace("http", "ws", 1) + "/ws?jeton=" + alice["jeton_acces"])
RECUS = []


def lire_la_socket():
    # Read all along: a socket that does not read its pushes is closed by the server (4429).
    try:
        while True:
            trame = json.loads(socket.recv())
            # Pushes may come grouped in one frame, as a JSON array (protocole.md).
            RECUS.extend(trame if isinstance(trame, list) else [trame])
    except Exception:  # noqa: BLE001 — the socket closed: the end of the run, or a failure
        pass          # the checks below report (missing notifications).


threading.Thread(target=lire_la_socket, daemon=True).start()

A = [rpc(alice["jeton_acces"], "joueur.creer", {"nom": n, "classe": c})["joueur_id"]
     for n, c in [("Brennos", "Tank"), ("Sylvaine", "DPS"), ("Ondine", "Heal")]]
B = rpc(bob["jeton_acces"], "joueur.creer", {"nom": "Bertrand", "classe": "Tank"})["joueur_id"]
for j in A:
    rpc(alice["jeton_acces"], "monde.zone", {"joueur_id": j})
rpc(bob["jeton_acces"], "monde.zone", {"joueur_id": B})
COMBAT = rpc(alice["jeton_acces"], "combat.demarrer", {"joueur_id": A[0], "rencontre": "meute_de_loups"})["combat_id"]
rpc(alice["jeton_acces"], "combat.rejoindre", {"joueur_id": A[1], "combat_id": COMBAT})
ECHANGE = rpc(alice["jeton_acces"], "echange.proposer",
              {"joueur_id": A[2], "destinataire": B, "offre": {"or": 1}})["echange_id"]
# A real step (pushed as monde.deplacements to the zone, the caller's socket included).
rpc(alice["jeton_acces"], "monde.deplacer", {"joueur_id": A[0], "x": 100.5, "y": 100.0})
MESSAGE = rpc(alice["jeton_acces"], "chat.envoyer",
              {"joueur_id": A[0], "canal": {"type": "zone"}, "texte": "bonjour"})["id"]
TETE = rpc(alice["jeton_acces"], "evenements.depuis", {})["curseur"]
SIGNALEMENT = rpc(alice["jeton_acces"], "signalement.creer",
                  {"joueur_id": A[0], "cible_id": B, "raison": "un signalement à traiter"})["signalement_id"]

# Real values by parameter name; the rest comes from the schemas.
REELS = {
    "joueur_id": A,
    "destinataire": [B],
    "combat_id": [COMBAT],
    "echange_id": [ECHANGE],
    "cible": A,
    "curseur": ["0.0", TETE],
    # Passed by the projections already: a random cursor may lie ahead of every projection and
    # cost its read the whole wait (2 s) before LECTURE_EN_RETARD.
    "a_jour_de": ["0.0", TETE],
    "avant": [MESSAGE, "0-0"],
    "jeton": [alice["jeton_acces"]],
    "signalement_id": [SIGNALEMENT],
    "nom": ["Bertrand"],
    # What the starting zone sells and a starting kit holds: purchases, sales and crafts that
    # can succeed, and steps of a metre or less around the start (faster is TROP_RAPIDE).
    "marchand": ["apothicaire_mirabelle", "forgeronne_brunehilde"],
    "item": ["pain", "potion_de_soin", "herbe_medicinale", "minerai_de_fer"],
    "recette": ["potion_de_soin", "lingot_de_fer"],
    "quantite": [1, 2],
    "x": [99.5, 100.0, 100.5],
    "y": [99.5, 100.0, 100.5],
}
# chat.museler silences an account, mj.bannir|expulser cut it off: never alice's, whose calls
# the rest of the run makes (nor the admin's). signalement.creer reports bob's character.
SANCTION = {"joueur_id": [B], "compte_id": [bob["compte_id"]], "nom": ["Bertrand"]}
# The game master's reads: real aggregates and event numbers they hold, real prefixes.
AGREGATS = {"aggregate_id": A + [COMBAT, ECHANGE], "sequence": [0, 1, 2], "de": [0, 1], "a": [1, 2]}
REELS_PAR_METHODE = {
    "chat.museler": SANCTION,
    "mj.bannir": SANCTION,
    "mj.retablir": SANCTION,
    "mj.expulser": SANCTION,
    "signalement.creer": {"cible_id": [B], "cible_nom": ["Bertrand"]},
    "mj.chercher": {"texte": ["Bren", "ali", "BOB"]},
    "mj.etat_a": AGREGATS,
    "mj.difference": AGREGATS,
}


# ---------------------------------------------------------------- generation


# A reason (`mj.*`, `chat.museler`, `signalement.creer`): a non-blank character, no control one.
RAISON = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"


def chaine(schema):
    motif = schema.get("pattern")
    bas, haut = schema.get("minLength", 1), schema.get("maxLength", 24)
    if motif == "^[a-z][a-z0-9_]*$":
        return HASARD.choice(string.ascii_lowercase) + "".join(
            HASARD.choice(string.ascii_lowercase + "_") for _ in range(HASARD.randint(0, min(haut, 20) - 1)))
    if motif and motif.startswith("^[A-Za-z"):
        n = HASARD.randint(max(bas, 1), haut)
        return HASARD.choice("ABCDEFGHéè") + "".join(HASARD.choice(string.ascii_letters + "0123456789_-é") for _ in range(n - 1))
    if motif == "^[0-9]{1,18}\\.[0-9]{1,18}$":
        return f"{HASARD.randint(0, 10**6)}.{HASARD.randint(0, 10**6)}"
    if motif == "^[0-9]{1,19}-[0-9]{1,19}$":
        return f"{HASARD.randint(0, 2**40)}-{HASARD.randint(0, 9)}"
    if motif == RAISON:
        motif = None  # what follows draws letters, spaces and punctuation, stripped: a reason
    if motif:
        raise SystemExit(f"motif sans générateur : {motif}")
    n = HASARD.randint(bas, max(bas, min(haut, 40)))
    return "".join(HASARD.choice(string.ascii_letters + " éà!?") for _ in range(n)).strip() or "x" * max(bas, 1)


def generer_valide(schema, reels):
    """Params the schema accepts: generation draws each part alone, so a cross-field rule
    (`oneOf` of `chat.museler`) may need a few draws."""
    for _ in range(100):
        params = generer(schema, None, reels)
        if not list(valideur(schema).iter_errors(params)):
            return params
    raise SystemExit(f"générateur : rien de valide en 100 essais pour {json.dumps(schema)[:300]}")


def generer_non_nul(schema, nom, reels):
    for _ in range(50):
        valeur = generer(schema, nom, reels)
        if valeur is not None:
            return valeur
    raise SystemExit(f"générateur : que des null pour {nom}")


def generer(schema, nom=None, reels=None):
    """A value the schema accepts (with a real id where the name calls for one)."""
    schema = resoudre(schema)
    reels = reels or REELS
    if nom in reels and HASARD.random() < 0.9:
        possibles = [v for v in reels[nom] if valideur(schema).is_valid(v)]
        if possibles:
            return HASARD.choice(possibles)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return HASARD.choice(schema["enum"])
    if schema.get("examples") and HASARD.random() < 0.8:
        return HASARD.choice(schema["examples"])
    for cle in ("oneOf", "anyOf"):
        if cle in schema and schema.get("properties"):
            # An object with a rule across its fields (chat.museler: exactly one of two): its
            # fields from the object's own schema, then the chosen branch's presence rules.
            base = {k: v for k, v in schema.items() if k not in (cle, "description")}
            valeur = generer(base, nom, reels)
            branche = resoudre(HASARD.choice(schema[cle]))
            for requis in branche.get("required", []):
                if valeur.get(requis) is None:
                    valeur[requis] = generer_non_nul(base["properties"][requis], requis, reels)
            for champ, sous in branche.get("properties", {}).items():
                if sous.get("type") == "null" and champ in valeur:
                    if HASARD.random() < 0.5:
                        del valeur[champ]
                    else:
                        valeur[champ] = None
            return valeur
        if cle in schema:
            branches = [b for b in schema[cle] if resoudre(b).get("type") != "null"] or schema[cle]
            return generer(HASARD.choice(branches), nom, reels)
    if "allOf" in schema:
        valeurs = [generer(b, nom, reels) for b in schema["allOf"]]
        if len(valeurs) == 1 or not all(isinstance(v, dict) for v in valeurs):
            return valeurs[0]
        return {k: v for valeur in valeurs for k, v in valeur.items()}
    genre = schema.get("type")
    if isinstance(genre, list):
        genres = [g for g in genre if g != "null"]
        genre = HASARD.choice(genres) if genres and HASARD.random() < 0.9 else "null"
    if genre == "null":
        return None
    if genre == "boolean":
        return HASARD.random() < 0.5
    if genre == "integer":
        bas = schema.get("minimum", 0)
        haut = schema.get("maximum", bas + 50)
        if "exclusiveMinimum" in schema:
            bas = schema["exclusiveMinimum"] + 1
        return HASARD.randint(int(bas), int(haut))
    if genre == "number":
        bas = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        haut = schema.get("maximum", bas + 200)
        v = round(HASARD.uniform(bas, haut), 2)
        return v if v > schema.get("exclusiveMinimum", float("-inf")) else haut
    if genre == "string":
        if schema.get("format") == "uuid":
            return str(uuid.uuid4())
        return chaine(schema)
    if genre == "array":
        return [generer(schema["items"], None, reels) for _ in range(HASARD.randint(0, 2))]
    if genre == "object" or "properties" in schema:
        objet = {}
        requis = set(schema.get("required", []))
        for cle, sous in schema.get("properties", {}).items():
            if cle in requis or HASARD.random() < 0.5:
                objet[cle] = generer(sous, cle, reels)
        supplementaires = schema.get("additionalProperties")
        if schema.get("patternProperties"):
            supplementaires = next(iter(schema["patternProperties"].values()))
        if isinstance(supplementaires, dict):
            for _ in range(HASARD.randint(0, 2)):
                objet[HASARD.choice(["pain", "potion_de_soin", "peau_de_loup"])] = generer(supplementaires, None, reels)
        return objet
    raise SystemExit(f"schéma sans générateur : {schema}")


def casser(params, schema):
    """A copy of valid params that breaks the schema one way, and how."""
    schema = resoudre(schema)
    proprietes = schema.get("properties", {})
    requis = [c for c in schema.get("required", [])]
    facons = ["inconnu", "positionnels"]
    if requis:
        facons.append("manquant")
    if proprietes:
        facons += ["type", "type", "borne"]
    facon = HASARD.choice(facons)
    p = copy.deepcopy(params)
    if facon == "inconnu":
        p["pirate"] = 1
    elif facon == "positionnels":
        return list(p.values()), facon
    elif facon == "manquant":
        p.pop(HASARD.choice(requis))
    else:
        cle = HASARD.choice(list(proprietes))
        sous = resoudre(proprietes[cle])
        genres = sous.get("type")
        genres = genres if isinstance(genres, list) else [genres]
        if facon == "borne" and "integer" in genres and "maximum" in sous:
            p[cle] = sous["maximum"] + 1
        elif facon == "borne" and "integer" in genres and "minimum" in sous:
            p[cle] = sous["minimum"] - 1
        elif facon == "borne" and sous.get("format") == "uuid":
            p[cle] = "pas-un-uuid"
        elif facon == "borne" and sous.get("pattern"):
            p[cle] = "Pas Conforme !"
        elif "string" in genres or "$ref" in proprietes[cle] and "string" in genres:
            p[cle] = 12345
        elif "object" in genres or "oneOf" in sous or "anyOf" in sous or sous.get("properties"):
            p[cle] = "pas un objet"
        else:
            p[cle] = {"pas": "un nombre"}
        facon = f"{facon} de {cle}"
    return p, facon


# ---------------------------------------------------------------- checks


def echec(methode, params, quoi, reponse):
    ECHECS.append(f"{methode} {json.dumps(params, ensure_ascii=False)[:300]} : {quoi}\n    → {json.dumps(reponse, ensure_ascii=False)[:600]}")


def erreurs_declarees(methode):
    return {(e["code"], (e.get("data") or {}).get("code", e["message"])) for e in methode.get("errors", [])}


def verifier(methode, params, reponse, valides):
    nom = methode["name"]
    if ("result" in reponse) == ("error" in reponse):
        return echec(nom, params, "ni result ni error, ou les deux", reponse)
    if "result" in reponse:
        if not valides:
            return echec(nom, params, "des paramètres invalides acceptés", reponse)
        erreurs = sorted(valideur(methode["result"]["schema"]).iter_errors(reponse["result"]), key=str)
        if erreurs:
            return echec(nom, params, f"résultat hors schéma : {erreurs[0].message} à {list(erreurs[0].absolute_path)}", reponse)
        return None
    e = reponse["error"]
    code, stable = e.get("code"), (e.get("data") or {}).get("code")
    if code == -32603:
        return echec(nom, params, "erreur interne", reponse)
    if (code, stable) not in erreurs_declarees(methode):
        return echec(nom, params, f"erreur non déclarée ({code}, {stable})", reponse)
    if valides and code == -32602 and stable == "PARAMETRES_INVALIDES":
        return echec(nom, params, "des paramètres valides refusés", reponse)
    if not valides and code != -32602:
        return echec(nom, params, "des paramètres invalides non refusés en -32602", reponse)
    return None


def jeton_pour(nom):
    return admin["jeton_acces"] if METHODES[nom].get("x-admin") else alice["jeton_acces"]


# ---------------------------------------------------------------- the run

bilan = {}
for nom, methode in METHODES.items():
    if methode.get("x-notification") or nom == "session.authentifier":
        continue
    schema = schema_des_params(methode)
    reels = {**REELS, **REELS_PAR_METHODE.get(nom, {})}
    ok = refus = 0
    for _ in range(EXEMPLES):
        params = generer_valide(schema, reels)
        if nom == "mj.difference" and params["a"] < params["de"]:
            # Its cross-field rule (`a` is `de` or after), which no schema states.
            params["a"], params["de"] = params["de"], params["a"]
        if params.get("id_commande") is not None:
            params["id_commande"] = str(uuid.uuid4())
        r = rpc_brut(jeton_pour(nom), nom, params)
        verifier(methode, params, r, True)
        ok += "result" in r
        refus += "error" in r
        mauvais, facon = casser(params, schema)
        if isinstance(mauvais, dict) and not list(valideur(schema).iter_errors(mauvais)):
            continue
        verifier(methode, {"cassé": facon, "params": mauvais}, rpc_brut(jeton_pour(nom), nom, mauvais), False)
    bilan[nom] = (ok, refus)

# session.authentifier: WebSocket only; a real token and a broken one.
methode = METHODES["session.authentifier"]
for n, (params, valides) in enumerate([({"jeton": alice["jeton_acces"]}, True), ({"jeton": 5}, False), ({}, False)]):
    socket.send(json.dumps({"jsonrpc": "2.0", "id": f"auth{n}", "method": "session.authentifier", "params": params}))
    fin = time.monotonic() + 10
    while not (reponse := next((m for m in RECUS if m.get("id") == f"auth{n}"), None)):
        if time.monotonic() > fin:
            raise SystemExit("session.authentifier : pas de réponse sur la WebSocket")
        time.sleep(0.05)
    verifier(methode, params, reponse, valides)

# Every notification the socket got meanwhile, against its declared params.
poussees = {}
non_decrites = {}
notifications = {m["name"]: m for m in DOC["methods"] if m.get("x-notification")}
time.sleep(1)  # the last pushes of the run
socket.close()
for message in list(RECUS):
    if "method" not in message:
        continue
    declaree = notifications.get(message["method"])
    if declaree is None:
        # Every push the server sends is in the document: one it does not describe is a gap.
        non_decrites[message["method"]] = non_decrites.get(message["method"], 0) + 1
        ECHECS.append(f"notification {message['method']} absente du document OpenRPC")
        continue
    poussees[message["method"]] = poussees.get(message["method"], 0) + 1
    erreurs = sorted(valideur(schema_des_params(declaree)).iter_errors(message["params"]), key=str)
    if erreurs:
        ECHECS.append(f"notification {message['method']} hors schéma : {erreurs[0].message} à "
                      f"{list(erreurs[0].absolute_path)}\n    → {json.dumps(message)[:600]}")

for nom, (ok, refus) in sorted(bilan.items()):
    print(f"  {nom:26} {ok:3} résultats, {refus:3} erreurs documentées, {EXEMPLES} appels invalides")
print(f"  notifications vérifiées : {poussees} ; non décrites par le document : {non_decrites}")
for nom in notifications:
    if not poussees.get(nom):
        ECHECS.append(f"aucune notification {nom} reçue : son schéma n'a pas été vérifié")
if ECHECS:
    print(f"contrat : {len(ECHECS)} écart(s) entre le serveur et son document OpenRPC :")
    for e in ECHECS[:60]:
        print("  - " + e)
    sys.exit(1)
print(f"contrat : {len(bilan)} méthodes, chaque réponse conforme au document OpenRPC")
