//! The whole game loop as three players play it, each on their own account and socket, with
//! the bus in the loop: placed in the start zone by the process manager, they see each other
//! move, chat in the zone, fight an encounter together, and are paid through the bus. Two
//! tests play it: as is, and with the NATS server restarted in the middle of the combat.

use std::collections::VecDeque;

use cqrs_es::Aggregate as _;
use domain::combat::{Combat, EvenementCombat, Issue, Phase};
use domain::simulation::action_scriptee;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{Banc, ClientWs, Compte};

/// A combat as a client folds it from the pushed `evenement` notifications, in order.
pub struct VueCombat {
    id: String,
    /// The combat so far.
    pub combat: Combat,
    /// Events folded in.
    pub appliques: u64,
}

impl VueCombat {
    /// Nothing seen yet of combat `id`.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            combat: Combat::default(),
            appliques: 0,
        }
    }

    /// Folds in the next events of this combat found among `notifications`, in sequence.
    pub fn absorber(&mut self, notifications: &VecDeque<Value>) {
        loop {
            let suivant = notifications.iter().find(|n| {
                let p = &n["params"];
                n["method"] == "evenement"
                    && p["agregat"] == "Combat"
                    && p["id"] == self.id.as_str()
                    && p["sequence"].as_u64() == Some(self.appliques + 1)
            });
            let Some(n) = suivant else { return };
            let p = &n["params"];
            let genre = p["type"].as_str().expect("type");
            let evenement: EvenementCombat =
                serde_json::from_value(json!({ genre: p["donnees"].clone() }))
                    .expect("un événement de combat");
            self.combat.apply(evenement);
            self.appliques += 1;
        }
    }
}

/// How many events a command's answer reports.
pub fn nombre(reponse: &Value) -> u64 {
    reponse["evenements"]
        .as_array()
        .map_or(0, |v| v.len() as u64)
}

/// One player: an account, a socket, a character.
pub struct Joueur {
    /// The account.
    pub compte: Compte,
    /// Its socket.
    pub ws: ClientWs,
    /// Its character.
    pub id: String,
    /// The quest it accepted.
    pub quete: &'static str,
}

/// What the loop leaves to check.
pub struct Bilan {
    /// The three players (Tank, DPS, Heal).
    pub joueurs: Vec<Joueur>,
    /// The combat.
    pub combat_id: String,
    /// Its events, as counted from the commands' answers.
    pub evenements_du_combat: u64,
    /// Each character's share of the victory, from `CombatTermine`.
    pub recompenses: Vec<Value>,
}

fn a_recu(notifications: &VecDeque<Value>, methode: &str, pret: impl Fn(&Value) -> bool) -> bool {
    notifications
        .iter()
        .any(|n| n["method"] == methode && pret(&n["params"]))
}

/// Plays the loop up to the victory; `pendant_le_combat` runs after the launch (the fault
/// test stops NATS there).
pub async fn jouer(banc: &Banc, pool: &PgPool, pendant_le_combat: impl AsyncFnOnce()) -> Bilan {
    let mut joueurs = arriver(banc, pool).await;
    se_voir_et_se_parler(&mut joueurs).await;
    combattre(joueurs, pendant_le_combat).await
}

/// Three accounts, a character each (Tank, DPS, Heal), placed in the start zone by the
/// process manager; each looks at the zone and accepts a quest.
async fn arriver(banc: &Banc, pool: &PgPool) -> Vec<Joueur> {
    let mut joueurs = Vec::new();
    for (login, nom, classe, quete) in [
        ("tania", "Brennos", "Tank", "rempart"),
        ("damien", "Sylvaine", "DPS", "chasse_aux_loups"),
        ("helene", "Ondine", "Heal", "main_secourable"),
    ] {
        let compte = banc.compte(login).await;
        let mut ws = banc.ws(Some(&compte.jeton)).await;
        let r = ws
            .appel("joueur.creer", json!({ "nom": nom, "classe": classe }))
            .await
            .expect("personnage créé");
        let id = r["joueur_id"].as_str().expect("joueur_id").to_owned();
        joueurs.push(Joueur {
            compte,
            ws,
            id,
            quete,
        });
    }

    // The process manager reacting to `JoueurCree` places each character: its durable
    // position appears without anyone asking Monde.
    for j in &joueurs {
        banc.attendre("placé par le process manager", || async {
            sqlx::query_as::<_, (String,)>("SELECT zone FROM positions WHERE joueur_id = $1::uuid")
                .bind(&j.id)
                .fetch_optional(pool)
                .await
                .expect("lecture des positions")
                .map(|(zone,)| assert_eq!(zone, "plaine_verte"))
        })
        .await;
    }
    for j in &mut joueurs {
        let zone =
            j.ws.appel("monde.zone", json!({ "joueur_id": j.id }))
                .await
                .expect("zone");
        assert_eq!(zone["zone"]["code"], "plaine_verte");
        j.ws.appel(
            "quete.accepter",
            json!({ "joueur_id": j.id, "quete": j.quete }),
        )
        .await
        .expect("quête acceptée");
    }

    joueurs
}

/// The Tank steps aside and the others see it move; the DPS speaks in the zone and the others
/// hear it.
async fn se_voir_et_se_parler(joueurs: &mut [Joueur]) {
    let tank = joueurs[0].id.clone();
    joueurs[0]
        .ws
        .appel(
            "monde.deplacer",
            json!({ "joueur_id": tank, "x": 101.5, "y": 100.0 }),
        )
        .await
        .expect("déplacement");
    for j in &mut joueurs[1..] {
        let vu = |n: &Value| {
            n["deplacements"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["joueur_id"] == tank.as_str() && d["position"]["x"] == 101.5)
        };
        j.ws.attendre_evenements("le Tank vu en mouvement", |n| {
            a_recu(n, "monde.deplacements", vu)
        })
        .await;
    }

    let dps = joueurs[1].id.clone();
    joueurs[1]
        .ws
        .appel(
            "chat.envoyer",
            json!({ "joueur_id": dps, "canal": { "type": "zone" }, "texte": "On attaque les loups ?" }),
        )
        .await
        .expect("message envoyé");
    for i in [0, 2] {
        let entendu = |n: &Value| n["de"] == dps.as_str() && n["texte"] == "On attaque les loups ?";
        joueurs[i]
            .ws
            .attendre_evenements("le message de zone", |n| a_recu(n, "chat.message", entendu))
            .await;
    }
}

/// The Tank prepares the wolves, the others join, the Tank launches; then each round, whoever
/// has to act does, on their own socket, from the state the Tank's client folds out of its
/// pushes, until the victory.
async fn combattre(mut joueurs: Vec<Joueur>, pendant_le_combat: impl AsyncFnOnce()) -> Bilan {
    let tank = joueurs[0].id.clone();
    let r = joueurs[0]
        .ws
        .appel(
            "combat.demarrer",
            json!({ "joueur_id": tank, "rencontre": "meute_de_loups" }),
        )
        .await
        .expect("combat préparé");
    let combat_id = r["combat_id"].as_str().expect("combat_id").to_owned();
    let mut attendus = 1;
    for j in &mut joueurs[1..] {
        let r =
            j.ws.appel(
                "combat.rejoindre",
                json!({ "joueur_id": j.id, "combat_id": combat_id }),
            )
            .await
            .expect("rejoint");
        attendus += nombre(&r);
    }
    let r = joueurs[0]
        .ws
        .appel(
            "combat.lancer",
            json!({ "joueur_id": tank, "combat_id": combat_id }),
        )
        .await
        .expect("lancé");
    attendus += nombre(&r);
    pendant_le_combat().await;
    let mut vue = VueCombat::new(&combat_id);
    let recompenses = loop {
        joueurs[0]
            .ws
            .attendre_evenements("les événements du combat", |n| {
                vue.absorber(n);
                vue.appliques >= attendus
            })
            .await;
        let etat = vue.combat.etat().expect("combat préparé").clone();
        match etat.phase {
            Phase::Termine {
                issue: Issue::Victoire,
                ..
            } => {
                break joueurs[0]
                    .ws
                    .notifications
                    .iter()
                    .find(|n| n["params"]["type"] == "CombatTermine")
                    .map(|n| n["params"]["donnees"]["recompenses"].clone())
                    .and_then(|r| r.as_array().cloned())
                    .expect("récompenses");
            }
            Phase::EnCours { .. } => {}
            autre => panic!("phase inattendue : {autre:?}"),
        }
        let Some(i) = etat.participants.iter().position(|p| !p.ko() && !p.a_agi) else {
            panic!("personne ne peut agir : {etat:?}");
        };
        let action = action_scriptee(&etat, i);
        let qui = etat.participants[i].combattant.joueur_id.to_string();
        let j = joueurs
            .iter_mut()
            .find(|j| j.id == qui)
            .expect("un des trois");
        let r =
            j.ws.appel(
                "combat.agir",
                json!({ "joueur_id": qui, "combat_id": combat_id, "action": action }),
            )
            .await
            .expect("action acceptée");
        attendus += nombre(&r);
    };
    Bilan {
        joueurs,
        combat_id,
        evenements_du_combat: attendus,
        recompenses,
    }
}

/// The process managers that pay (every one but the round scheduler, whose held messages
/// wait for deadlines).
fn payeurs() -> impl Iterator<Item = &'static str> {
    commands::bus::reactions::CONSOMMATEURS
        .into_iter()
        .map(|c| c.nom)
        .filter(|&nom| nom != "echeances_tours")
}

/// Waits until nothing more can be paid: the relay has published every event of the store,
/// no paying process manager has a message waiting or in flight (a message is acknowledged
/// only once the commands it causes are in the store), and the store did not grow meanwhile.
async fn attendre_le_calme(banc: &Banc, pool: &PgPool) {
    let compter = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
            .fetch_one(pool)
            .await
            .expect("lecture du magasin");
        n
    };
    banc.attendre("les réactions épuisées", || async {
        let avant = compter().await;
        let relais = magasin::suivi::retard(pool, commands::bus::relais::LECTEUR)
            .await
            .expect("retard du relais");
        if relais.evenements > 0 {
            return None;
        }
        let flux = banc.serveur.passerelle.bus.flux().await.ok()?;
        for nom in payeurs() {
            let info = flux.consumer_info(nom).await.ok()?;
            if info.num_pending > 0 || info.num_ack_pending > 0 {
                return None;
            }
        }
        (compter().await == avant).then_some(())
    })
    .await;
}

impl Bilan {
    /// A character's share of the victory: XP and gold.
    pub fn part(&self, joueur: &str) -> (u64, u64) {
        self.recompenses
            .iter()
            .find(|r| r["joueur_id"] == joueur)
            .map_or((0, 0), |r| {
                (r["xp"].as_u64().unwrap_or(0), r["or"].as_u64().unwrap_or(0))
            })
    }

    /// The combat's XP, plus the quest's when the victory completed it (`rempart` and
    /// `main_secourable` give 60; `chasse_aux_loups` asks four wolves, the combat had two).
    fn xp_attendue(&self, j: &Joueur) -> u64 {
        let quete = if j.quete == "chasse_aux_loups" { 0 } else { 60 };
        self.part(&j.id).0 + quete
    }

    /// Checks, through the gateway's reads, that the victory was paid exactly once: XP (the
    /// combat's, plus the quest it completed), the loot's gold in the inventory and in the
    /// ledger, quest progress, and the combat's history, every event in order. Once each
    /// share is seen, waits until the chain of reactions has run dry and the projections have
    /// applied the whole store, then checks again: a reward paid twice would show there.
    pub async fn verifier_les_recompenses(&self, banc: &Banc, pool: &PgPool) {
        for j in &self.joueurs {
            self.verifier_la_part(banc, j).await;
        }
        attendre_le_calme(banc, pool).await;
        banc.projections_a_jour(pool).await;
        for j in &self.joueurs {
            let profil = banc
                .appel(
                    &j.compte.jeton,
                    "joueur.profil",
                    json!({ "joueur_id": j.id }),
                )
                .await
                .expect("profil");
            assert_eq!(
                profil["xp"].as_u64(),
                Some(self.xp_attendue(j)),
                "payé une fois"
            );
            self.verifier_la_part(banc, j).await;
        }
        self.verifier_l_historique(banc).await;
    }

    /// One player's share: XP on the profile, quest progress, the loot's gold once in the
    /// ledger and in the inventory.
    async fn verifier_la_part(&self, banc: &Banc, j: &Joueur) {
        let jeton = j.compte.jeton.as_str();
        let (xp, or) = self.part(&j.id);
        assert!(
            xp > 0 && or > 0,
            "une victoire contre des loups paie : {xp} XP, {or} po"
        );
        let xp_attendue = self.xp_attendue(j);
        banc.lire_quand(jeton, "joueur.profil", json!({ "joueur_id": j.id }), |p| {
            p["xp"].as_u64() == Some(xp_attendue) && p["combat_id"].is_null()
        })
        .await;
        let quete_terminee = j.quete != "chasse_aux_loups";
        let journal = banc
            .lire_quand(jeton, "quete.journal", json!({ "joueur_id": j.id }), |q| {
                q["quetes"].as_array().is_some_and(|l| {
                    l.iter().any(|q| {
                        q["quete"] == j.quete
                            && (q["statut"] == "terminee"
                                || (q["statut"] == "en_cours" && q["progression"] == 2))
                    })
                })
            })
            .await;
        let ligne = journal["quetes"]
            .as_array()
            .and_then(|l| l.iter().find(|q| q["quete"] == j.quete))
            .expect("la quête");
        assert_eq!(ligne["statut"] == "terminee", quete_terminee, "{journal}");
        let livre = banc
            .lire_quand(
                jeton,
                "economie.grand_livre",
                json!({ "joueur_id": j.id }),
                |l| {
                    l["mouvements"]
                        .as_array()
                        .is_some_and(|m| m.iter().any(|m| m["cause"] == "butin"))
                },
            )
            .await;
        let or_du_butin: Vec<u64> = livre["mouvements"]
            .as_array()
            .expect("mouvements")
            .iter()
            .filter(|m| m["cause"] == "butin" && m["ressource"] == "or")
            .filter_map(|m| m["delta"].as_u64())
            .collect();
        assert_eq!(or_du_butin, vec![or], "le butin en or, une fois : {livre}");
        let inventaire = banc
            .lire_quand(
                jeton,
                "inventaire.consulter",
                json!({ "joueur_id": j.id }),
                |i| i["or_total"].as_u64().is_some_and(|o| o > 30),
            )
            .await;
        assert_eq!(
            inventaire["or_total"].as_u64(),
            Some(30 + or),
            "{inventaire}"
        );
    }

    /// The combat's history: every event, in order.
    async fn verifier_l_historique(&self, banc: &Banc) {
        let jeton = self.joueurs[0].compte.jeton.as_str();
        let historique = banc
            .lire_quand(
                jeton,
                "combat.historique",
                json!({ "combat_id": self.combat_id }),
                |h| {
                    h["evenements"].as_array().map(|v| v.len() as u64)
                        == Some(self.evenements_du_combat)
                },
            )
            .await;
        let evenements = historique["evenements"].as_array().expect("liste");
        for (i, e) in evenements.iter().enumerate() {
            assert_eq!(
                e["sequence"].as_u64(),
                Some(i as u64 + 1),
                "dans l'ordre : {e}"
            );
        }
        assert_eq!(evenements[0]["type"], "CombatPrepare");
        assert_eq!(evenements.last().expect("fin")["type"], "CombatTermine");
    }
}
