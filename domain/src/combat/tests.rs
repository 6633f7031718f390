//! Given/when/then tests of the `Combat` aggregate: each command's success, each refusal, and
//! the rules of a fight (threat, provocation, defense, heals, victory, defeat, replay).
//!
//! Rolls come from the seed: expected numbers are computed from the public dice and formulas
//! exactly as the engine rolls them, never copied from a run.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::test::TestFramework;

use super::moteur::ACTEUR_MONSTRE;
use super::{
    Action, BONUS_PROVOCATION, BilanParticipant, Combat, Combattant, CombattantEngage,
    CommandeCombat, ErreurCombat, EvenementCombat, Issue, MonstreEngage, Phase, RecompenseCombat,
    VARIANCE_DEGATS_PCT, VARIANCE_SOIN_PCT, degats, soin,
};
use crate::catalogue::LigneItem;
use crate::de::{But, Des};
use crate::essais::{catalogue, code, combat, joueur, niveau, nom, q, t0};
use crate::ids::JoueurId;
use crate::simulation::action_scriptee;
use crate::valeurs::{Classe, CodeZone, Graine, Horodatage, Niveau, Or, Stats};
use Classe::{Dps, Heal, Tank};

const GRAINE: Graine = Graine::new(42);
const MEUTE: &str = "meute_de_loups";
const LICHE: &str = "trone_de_la_liche";

// ------------------------------------------------------------------ fixtures

fn essai() -> TestFramework<Combat> {
    TestFramework::with(catalogue())
}

fn combattant(n: u64, classe: Classe) -> Combattant {
    Combattant {
        joueur_id: joueur(n),
        nom: nom(&format!("Heros{n}")),
        classe,
        niveau: niveau(1),
    }
}

fn engage(n: u64, classe: Classe) -> CombattantEngage {
    let c = combattant(n, classe);
    CombattantEngage {
        stats: stats(classe),
        joueur_id: c.joueur_id,
        nom: c.nom,
        classe,
        niveau: c.niveau,
    }
}

/// Level-1 stats of a class.
fn stats(classe: Classe) -> Stats {
    catalogue().stats(classe, niveau(1))
}

fn monstres_de(rencontre: &str) -> Vec<MonstreEngage> {
    let cat = catalogue();
    let def = cat
        .rencontre(&code(rencontre))
        .expect("rencontre du catalogue");
    def.monstres
        .iter()
        .map(|c| {
            let m = cat.monstre(c).expect("monstre du catalogue");
            MonstreEngage {
                code: c.clone(),
                nom: m.nom.clone(),
                pv_max: m.pv,
                attaque: m.attaque,
                defense: m.defense,
                frappe_de_zone: m.frappe_de_zone,
            }
        })
        .collect()
}

fn zone_de(rencontre: &str) -> CodeZone {
    catalogue()
        .rencontre(&code(rencontre))
        .expect("rencontre du catalogue")
        .zone
        .clone()
}

fn loup() -> MonstreEngage {
    monstres_de(MEUTE).remove(0)
}

fn duree_tour() -> TimeDelta {
    TimeDelta::seconds(i64::from(catalogue().regles().duree_tour_secondes))
}

fn echeance(maintenant: Horodatage) -> Horodatage {
    maintenant + duree_tour()
}

/// Just past the deadline of a round started at `t0`.
fn apres_l_echeance() -> Horodatage {
    echeance(t0()) + TimeDelta::seconds(1)
}

fn prepare(rencontre: &str, initiateur: CombattantEngage) -> EvenementCombat {
    EvenementCombat::CombatPrepare {
        combat_id: combat(1),
        rencontre: code(rencontre),
        zone: zone_de(rencontre),
        graine: GRAINE,
        initiateur,
        monstres: monstres_de(rencontre),
    }
}

fn rejoint(n: u64, classe: Classe) -> EvenementCombat {
    EvenementCombat::CombattantRejoint {
        combattant: engage(n, classe),
    }
}

fn tour_commence(tour: u32) -> EvenementCombat {
    EvenementCombat::TourCommence {
        tour,
        echeance: echeance(t0()),
    }
}

/// A party (the first is the initiator) gathered against an encounter, not launched.
fn en_preparation(rencontre: &str, groupe: &[(u64, Classe)]) -> Vec<EvenementCombat> {
    let (&(n, classe), autres) = groupe.split_first().expect("au moins un participant");
    let mut evenements = vec![prepare(rencontre, engage(n, classe))];
    evenements.extend(autres.iter().map(|&(n, classe)| rejoint(n, classe)));
    evenements
}

/// The same party, launched at `t0`: round 1 is in progress.
fn lance(rencontre: &str, groupe: &[(u64, Classe)]) -> Vec<EvenementCombat> {
    let mut evenements = en_preparation(rencontre, groupe);
    evenements.push(EvenementCombat::CombatLance {
        participants: groupe.iter().map(|&(n, _)| joueur(n)).collect(),
    });
    evenements.push(tour_commence(1));
    evenements
}

/// Tank (1, initiator) and DPS (2) against the wolf pack, round 1 in progress.
fn duo_lance() -> Vec<EvenementCombat> {
    lance(MEUTE, &[(1, Tank), (2, Dps)])
}

fn puis(mut evenements: Vec<EvenementCombat>, suite: Vec<EvenementCombat>) -> Vec<EvenementCombat> {
    evenements.extend(suite);
    evenements
}

/// A monster's hit, written by hand (round 1).
fn frappe(monstre: u32, n: u64, degats: u32, pv_restants: u32) -> EvenementCombat {
    EvenementCombat::MonstreAttaque {
        tour: 1,
        monstre,
        cible: joueur(n),
        degats,
        pv_restants,
        frappe_de_zone: false,
    }
}

/// A participant's hit on a wolf, written by hand (round 1).
fn coup(n: u64, monstre: u32, degats: u32, menace: u64) -> EvenementCombat {
    EvenementCombat::AttaquePortee {
        tour: 1,
        joueur_id: joueur(n),
        monstre,
        degats,
        critique: false,
        pv_restants: loup().pv_max.saturating_sub(degats),
        menace,
    }
}

fn loup_abattu(monstre: u32) -> EvenementCombat {
    EvenementCombat::MonstreVaincu {
        monstre,
        code: code("loup"),
    }
}

fn agir(n: u64, action: Action) -> CommandeCombat {
    CommandeCombat::Agir {
        joueur_id: joueur(n),
        action,
        maintenant: t0(),
    }
}

fn terminer(tour: u32, maintenant: Horodatage) -> CommandeCombat {
    CommandeCombat::TerminerTour { tour, maintenant }
}

fn preparer(rencontre: &str, zone: CodeZone, initiateur: Combattant) -> CommandeCombat {
    CommandeCombat::Preparer {
        combat_id: combat(1),
        rencontre: code(rencontre),
        zone,
        graine: GRAINE,
        initiateur,
    }
}

// ------------------------------------------------------------------ the engine's rolls

fn des() -> Des {
    Des::new(GRAINE)
}

/// Damage and critical flag of participant `index`'s attack on monster `cible`.
fn attaque_attendue(tour: u32, index: u64, classe: Classe, cible: u32) -> (u32, bool) {
    let contexte = [u64::from(tour), index, u64::from(cible)];
    let (min, max) = VARIANCE_DEGATS_PCT;
    let variance = des().entre(But::Degats, &contexte, min, max);
    let critique = des().chance(
        But::Critique,
        &contexte,
        catalogue().classe(classe).critique_pct,
    );
    let defense = monstres_de(MEUTE)[cible as usize].defense;
    let degats = degats(
        stats(classe).attaque,
        defense,
        variance,
        critique,
        100,
        false,
    );
    (degats, critique)
}

/// Damage of monster `monstre`'s strike on participant `cible`.
fn frappe_attendue(
    tour: u32,
    monstre: &MonstreEngage,
    index_monstre: u64,
    cible: u64,
    classe: Classe,
    puissance_pct: u32,
    defend: bool,
) -> u32 {
    let contexte = [u64::from(tour), ACTEUR_MONSTRE + index_monstre, cible];
    let (min, max) = VARIANCE_DEGATS_PCT;
    let variance = des().entre(But::Degats, &contexte, min, max);
    degats(
        monstre.attaque,
        stats(classe).defense,
        variance,
        false,
        puissance_pct,
        defend,
    )
}

/// A wolf's ordinary strike on participant `cible`.
fn morsure(tour: u32, index_monstre: u64, cible: u64, classe: Classe, defend: bool) -> u32 {
    frappe_attendue(tour, &loup(), index_monstre, cible, classe, 100, defend)
}

/// HP a heal by participant `index` would restore, uncapped.
fn soin_attendu(tour: u32, index: u64, classe: Classe) -> u32 {
    let (min, max) = VARIANCE_SOIN_PCT;
    let variance = des().entre(But::Soin, &[u64::from(tour), index], min, max);
    soin(stats(classe).soin, variance)
}

/// Participant `participant`'s share of a victory over `monstres`.
fn recompense_attendue(participant: u64, n: u64, monstres: &[MonstreEngage]) -> RecompenseCombat {
    let cat = catalogue();
    let mut xp = 0;
    let mut or = 0;
    let mut items: BTreeMap<_, u32> = BTreeMap::new();
    for (i, monstre) in (0u64..).zip(monstres) {
        let def = cat.monstre(&monstre.code).expect("monstre du catalogue");
        xp += def.xp;
        or += u64::from(des().entre(But::ButinOr, &[participant, i], def.or.min, def.or.max));
        for (k, ligne) in (0u64..).zip(&def.butin) {
            let contexte = [participant, i, k];
            if des().chance(But::ButinChance, &contexte, ligne.chance_pct) {
                let (min, max) = (ligne.quantite.min, ligne.quantite.max);
                *items.entry(ligne.item.clone()).or_default() +=
                    des().entre(But::ButinQuantite, &contexte, min, max);
            }
        }
    }
    RecompenseCombat {
        joueur_id: joueur(n),
        xp,
        or: Or::new(or),
        items: items
            .into_iter()
            .map(|(item, nombre)| LigneItem {
                item,
                quantite: q(nombre),
            })
            .collect(),
    }
}

/// Who each monster's strike hit, in order.
fn cibles(evenements: &[EvenementCombat]) -> Vec<(u32, JoueurId)> {
    evenements
        .iter()
        .filter_map(|e| match e {
            EvenementCombat::MonstreAttaque { monstre, cible, .. } => Some((*monstre, *cible)),
            _ => None,
        })
        .collect()
}

fn bilan(n: u64, classe: Classe, ko: bool) -> BilanParticipant {
    BilanParticipant {
        joueur_id: joueur(n),
        classe,
        ko,
    }
}

// ------------------------------------------------------------------ a whole fight

async fn executer(agregat: &mut Combat, commande: CommandeCombat) -> Vec<EvenementCombat> {
    let sink = EventSink::default();
    agregat
        .handle(commande, &catalogue(), &sink)
        .await
        .expect("le combat accepte la commande");
    sink.collect().await
}

/// Tank, DPS and Heal fight the wolf pack to the end with the scripted policy, through
/// `handle` as the command side drives it.
async fn combattre(graine: Graine) -> (Combat, Vec<EvenementCombat>) {
    let mut agregat = Combat::default();
    let mut historique = Vec::new();
    let debut = [
        CommandeCombat::Preparer {
            combat_id: combat(1),
            rencontre: code(MEUTE),
            zone: zone_de(MEUTE),
            graine,
            initiateur: combattant(1, Tank),
        },
        CommandeCombat::Rejoindre {
            combattant: combattant(2, Dps),
        },
        CommandeCombat::Rejoindre {
            combattant: combattant(3, Heal),
        },
        CommandeCombat::Lancer {
            joueur_id: joueur(1),
            maintenant: t0(),
        },
    ];
    for commande in debut {
        historique.extend(executer(&mut agregat, commande).await);
    }
    for _ in 0..500 {
        let etat = agregat.etat().expect("combat préparé");
        if matches!(etat.phase, Phase::Termine { .. }) {
            break;
        }
        let acteur = etat
            .participants
            .iter()
            .position(|p| !p.ko() && !p.a_agi)
            .expect("un tour en cours a toujours quelqu'un pour agir");
        let commande = CommandeCombat::Agir {
            joueur_id: etat.participants[acteur].combattant.joueur_id,
            action: action_scriptee(etat, acteur),
            maintenant: t0(),
        };
        historique.extend(executer(&mut agregat, commande).await);
    }
    (agregat, historique)
}

// ------------------------------------------------------------------ each command's success

#[tokio::test]
async fn preparer_engage_l_initiateur_a_son_niveau_et_les_monstres_de_la_rencontre() {
    let cat = catalogue();
    let def = cat
        .monstre(&code("loup"))
        .expect("le loup est au catalogue");
    let loup = MonstreEngage {
        code: code("loup"),
        nom: def.nom.clone(),
        pv_max: def.pv,
        attaque: def.attaque,
        defense: def.defense,
        frappe_de_zone: None,
    };
    let initiateur = Combattant {
        niveau: niveau(3),
        ..combattant(1, Tank)
    };
    essai()
        .given_no_previous_events()
        .when_async(preparer(MEUTE, code("plaine_verte"), initiateur))
        .await
        .then_expect_events(vec![EvenementCombat::CombatPrepare {
            combat_id: combat(1),
            rencontre: code(MEUTE),
            zone: code("plaine_verte"),
            graine: GRAINE,
            initiateur: CombattantEngage {
                joueur_id: joueur(1),
                nom: nom("Heros1"),
                classe: Tank,
                niveau: niveau(3),
                stats: cat.stats(Tank, niveau(3)),
            },
            monstres: vec![loup.clone(), loup],
        }]);
}

#[tokio::test]
async fn rejoindre_un_combat_en_preparation_engage_le_nouveau_venu_avec_ses_stats() {
    let arrivant = Combattant {
        niveau: niveau(2),
        ..combattant(2, Heal)
    };
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank)]))
        .when_async(CommandeCombat::Rejoindre {
            combattant: arrivant,
        })
        .await
        .then_expect_events(vec![EvenementCombat::CombattantRejoint {
            combattant: CombattantEngage {
                joueur_id: joueur(2),
                nom: nom("Heros2"),
                classe: Heal,
                niveau: niveau(2),
                stats: catalogue().stats(Heal, niveau(2)),
            },
        }]);
}

#[tokio::test]
async fn la_derniere_place_du_groupe_peut_etre_prise() {
    let max = u64::from(catalogue().regles().taille_groupe_max);
    let groupe: Vec<_> = (1..max).map(|n| (n, Dps)).collect();
    essai()
        .given(en_preparation(MEUTE, &groupe))
        .when_async(CommandeCombat::Rejoindre {
            combattant: combattant(max, Dps),
        })
        .await
        .then_expect_events(vec![rejoint(max, Dps)]);
}

#[tokio::test]
async fn l_initiateur_lance_le_combat_et_le_premier_tour_commence_avec_son_echeance() {
    let maintenant = t0() + TimeDelta::minutes(5);
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]))
        .when_async(CommandeCombat::Lancer {
            joueur_id: joueur(1),
            maintenant,
        })
        .await
        .then_expect_events(vec![
            EvenementCombat::CombatLance {
                participants: vec![joueur(1), joueur(2)],
            },
            EvenementCombat::TourCommence {
                tour: 1,
                echeance: maintenant
                    + TimeDelta::seconds(i64::from(catalogue().regles().duree_tour_secondes)),
            },
        ]);
}

#[tokio::test]
async fn attaquer_un_monstre_lui_retire_les_degats_roules_et_donne_de_la_menace_selon_la_classe() {
    // The Tank (index 0) hits the second wolf; the DPS has not acted, so the round goes on.
    let (degats, critique) = attaque_attendue(1, 0, Tank, 1);
    let menace_pct = catalogue().classe(Tank).menace_pct;
    essai()
        .given(duo_lance())
        .when_async(agir(1, Action::Attaquer { cible: 1 }))
        .await
        .then_expect_events(vec![EvenementCombat::AttaquePortee {
            tour: 1,
            joueur_id: joueur(1),
            monstre: 1,
            degats,
            critique,
            pv_restants: loup().pv_max - degats,
            menace: u64::from(degats) * u64::from(menace_pct) / 100,
        }]);
}

#[tokio::test]
async fn soigner_un_allie_blesse_lui_rend_des_pv_et_partage_la_menace_entre_les_monstres() {
    // Round 1: the Tank (2) lost 60 HP. Round 2: the Heal (1, index 0) heals it.
    let pv_tank = stats(Tank).pv_max - 60;
    let montant = soin_attendu(2, 0, Heal);
    assert!(
        montant < 60,
        "le soin ne doit pas être plafonné ici : {montant}"
    );
    let part = u64::from(montant) / 2 / 2;
    essai()
        .given(puis(
            lance(MEUTE, &[(1, Heal), (2, Tank)]),
            vec![frappe(0, 2, 60, pv_tank), tour_commence(2)],
        ))
        .when_async(agir(1, Action::Soigner { cible: joueur(2) }))
        .await
        .then_expect_events(vec![EvenementCombat::SoinProdigue {
            tour: 2,
            joueur_id: joueur(1),
            cible: joueur(2),
            montant,
            pv_apres: pv_tank + montant,
            menace: vec![part, part],
        }]);
}

#[tokio::test]
async fn provoquer_place_le_provocateur_au_sommet_de_chaque_table_de_menace_plus_le_bonus() {
    // Round 1: the DPS put 20 threat on the first wolf. Round 2: the Tank provokes.
    essai()
        .given(puis(
            duo_lance(),
            vec![coup(2, 0, 20, 20), tour_commence(2)],
        ))
        .when_async(agir(1, Action::Provoquer {}))
        .await
        .then_expect_events(vec![EvenementCombat::ProvocationLancee {
            tour: 2,
            joueur_id: joueur(1),
            menace: vec![20 + BONUS_PROVOCATION, BONUS_PROVOCATION],
        }]);
}

#[tokio::test]
async fn se_defendre_est_une_action_du_tour() {
    essai()
        .given(duo_lance())
        .when_async(agir(1, Action::Defendre {}))
        .await
        .then_expect_events(vec![EvenementCombat::DefensePrise {
            tour: 1,
            joueur_id: joueur(1),
        }]);
}

#[tokio::test]
async fn terminer_le_tour_apres_l_echeance_fait_frapper_les_monstres_puis_commence_le_suivant() {
    // Nobody has threat: both wolves hit the first to have joined, the Tank.
    let pv_max = stats(Tank).pv_max;
    let d0 = morsure(1, 0, 0, Tank, false);
    let d1 = morsure(1, 1, 0, Tank, false);
    let maintenant = apres_l_echeance();
    essai()
        .given(duo_lance())
        .when_async(terminer(1, maintenant))
        .await
        .then_expect_events(vec![
            EvenementCombat::MonstreAttaque {
                tour: 1,
                monstre: 0,
                cible: joueur(1),
                degats: d0,
                pv_restants: pv_max - d0,
                frappe_de_zone: false,
            },
            EvenementCombat::MonstreAttaque {
                tour: 1,
                monstre: 1,
                cible: joueur(1),
                degats: d1,
                pv_restants: pv_max - d0 - d1,
                frappe_de_zone: false,
            },
            EvenementCombat::TourCommence {
                tour: 2,
                echeance: echeance(maintenant),
            },
        ]);
}

// ------------------------------------------------------------------ every refusal

#[tokio::test]
async fn un_combat_ne_se_prepare_qu_une_fois() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank)]))
        .when_async(preparer(MEUTE, zone_de(MEUTE), combattant(2, Dps)))
        .await
        .then_expect_error(ErreurCombat::CombatDejaPrepare);
}

#[tokio::test]
async fn un_combat_qui_n_existe_pas_n_accepte_que_la_preparation() {
    let commandes = [
        CommandeCombat::Rejoindre {
            combattant: combattant(2, Dps),
        },
        CommandeCombat::Lancer {
            joueur_id: joueur(1),
            maintenant: t0(),
        },
        agir(1, Action::Defendre {}),
        terminer(1, apres_l_echeance()),
    ];
    for commande in commandes {
        essai()
            .given_no_previous_events()
            .when_async(commande)
            .await
            .then_expect_error(ErreurCombat::CombatInexistant);
    }
}

#[tokio::test]
async fn une_rencontre_absente_du_catalogue_est_refusee() {
    essai()
        .given_no_previous_events()
        .when_async(preparer(
            "antre_du_dragon",
            zone_de(MEUTE),
            combattant(1, Tank),
        ))
        .await
        .then_expect_error(ErreurCombat::RencontreInconnue(code("antre_du_dragon")));
}

#[tokio::test]
async fn une_rencontre_d_une_autre_zone_que_l_initiateur_est_refusee() {
    essai()
        .given_no_previous_events()
        .when_async(preparer(MEUTE, code("foret_sombre"), combattant(1, Tank)))
        .await
        .then_expect_error(ErreurCombat::RencontreHorsZone {
            rencontre: code(MEUTE),
            zone: code("foret_sombre"),
        });
}

fn niveau_trop_haut() -> Niveau {
    niveau(catalogue().regles().niveau_max.valeur() + 1)
}

#[tokio::test]
async fn un_initiateur_au_dela_du_niveau_maximum_est_refuse() {
    let initiateur = Combattant {
        niveau: niveau_trop_haut(),
        ..combattant(1, Tank)
    };
    essai()
        .given_no_previous_events()
        .when_async(preparer(MEUTE, zone_de(MEUTE), initiateur))
        .await
        .then_expect_error(ErreurCombat::NiveauInvalide(niveau_trop_haut()));
}

#[tokio::test]
async fn un_arrivant_au_dela_du_niveau_maximum_est_refuse() {
    let arrivant = Combattant {
        niveau: niveau_trop_haut(),
        ..combattant(2, Dps)
    };
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank)]))
        .when_async(CommandeCombat::Rejoindre {
            combattant: arrivant,
        })
        .await
        .then_expect_error(ErreurCombat::NiveauInvalide(niveau_trop_haut()));
}

#[tokio::test]
async fn on_ne_rejoint_pas_un_combat_deja_lance() {
    essai()
        .given(duo_lance())
        .when_async(CommandeCombat::Rejoindre {
            combattant: combattant(3, Heal),
        })
        .await
        .then_expect_error(ErreurCombat::CombatDejaLance);
}

#[tokio::test]
async fn on_ne_lance_pas_deux_fois_un_combat() {
    essai()
        .given(duo_lance())
        .when_async(CommandeCombat::Lancer {
            joueur_id: joueur(1),
            maintenant: t0(),
        })
        .await
        .then_expect_error(ErreurCombat::CombatDejaLance);
}

#[tokio::test]
async fn on_n_agit_pas_avant_le_lancement() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]))
        .when_async(agir(1, Action::Defendre {}))
        .await
        .then_expect_error(ErreurCombat::CombatNonLance);
}

#[tokio::test]
async fn on_ne_termine_pas_de_tour_avant_le_lancement() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]))
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .then_expect_error(ErreurCombat::CombatNonLance);
}

/// Round 1 ended with the DPS and then the Tank knocked out.
fn combat_perdu() -> Vec<EvenementCombat> {
    puis(
        duo_lance(),
        vec![
            frappe(0, 2, stats(Dps).pv_max, 0),
            EvenementCombat::CombattantKo {
                joueur_id: joueur(2),
            },
            frappe(1, 1, stats(Tank).pv_max, 0),
            EvenementCombat::CombattantKo {
                joueur_id: joueur(1),
            },
            EvenementCombat::CombatTermine {
                issue: Issue::Defaite,
                tours: 1,
                participants: vec![bilan(1, Tank, true), bilan(2, Dps, true)],
                monstres_vaincus: vec![],
                recompenses: vec![],
            },
        ],
    )
}

#[tokio::test]
async fn un_combat_termine_refuse_toute_commande() {
    let commandes = [
        CommandeCombat::Rejoindre {
            combattant: combattant(3, Heal),
        },
        CommandeCombat::Lancer {
            joueur_id: joueur(1),
            maintenant: t0(),
        },
        agir(1, Action::Defendre {}),
    ];
    for commande in commandes {
        essai()
            .given(combat_perdu())
            .when_async(commande)
            .await
            .then_expect_error(ErreurCombat::CombatTermine);
    }
}

#[tokio::test]
async fn un_groupe_complet_n_accepte_personne_de_plus() {
    let max = catalogue().regles().taille_groupe_max;
    let groupe: Vec<_> = (1..=u64::from(max)).map(|n| (n, Dps)).collect();
    essai()
        .given(en_preparation(MEUTE, &groupe))
        .when_async(CommandeCombat::Rejoindre {
            combattant: combattant(u64::from(max) + 1, Dps),
        })
        .await
        .then_expect_error(ErreurCombat::GroupeComplet { max });
}

#[tokio::test]
async fn un_participant_ne_rejoint_pas_deux_fois() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]))
        .when_async(CommandeCombat::Rejoindre {
            combattant: combattant(2, Dps),
        })
        .await
        .then_expect_error(ErreurCombat::DejaParticipant);
}

#[tokio::test]
async fn seul_l_initiateur_peut_lancer_le_combat() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]))
        .when_async(CommandeCombat::Lancer {
            joueur_id: joueur(2),
            maintenant: t0(),
        })
        .await
        .then_expect_error(ErreurCombat::SeulLInitiateurPeutLancer);
}

#[tokio::test]
async fn un_non_participant_ne_peut_pas_agir() {
    essai()
        .given(duo_lance())
        .when_async(agir(9, Action::Defendre {}))
        .await
        .then_expect_error(ErreurCombat::PasParticipant);
}

#[tokio::test]
async fn un_joueur_ko_ne_peut_pas_agir() {
    essai()
        .given(puis(
            duo_lance(),
            vec![
                frappe(0, 2, stats(Dps).pv_max, 0),
                EvenementCombat::CombattantKo {
                    joueur_id: joueur(2),
                },
                tour_commence(2),
            ],
        ))
        .when_async(agir(2, Action::Defendre {}))
        .await
        .then_expect_error(ErreurCombat::JoueurKo);
}

#[tokio::test]
async fn un_participant_n_agit_qu_une_fois_par_tour() {
    essai()
        .given(puis(
            duo_lance(),
            vec![EvenementCombat::DefensePrise {
                tour: 1,
                joueur_id: joueur(1),
            }],
        ))
        .when_async(agir(1, Action::Attaquer { cible: 0 }))
        .await
        .then_expect_error(ErreurCombat::DejaAgi);
}

#[tokio::test]
async fn on_n_attaque_pas_un_monstre_qui_n_existe_pas() {
    let hors_rencontre = monstres_de(MEUTE).len() as u32;
    essai()
        .given(duo_lance())
        .when_async(agir(
            2,
            Action::Attaquer {
                cible: hors_rencontre,
            },
        ))
        .await
        .then_expect_error(ErreurCombat::MonstreInconnu(hors_rencontre));
}

#[tokio::test]
async fn on_n_attaque_pas_un_monstre_deja_vaincu() {
    essai()
        .given(puis(
            duo_lance(),
            vec![
                coup(1, 0, loup().pv_max, 100),
                loup_abattu(0),
                tour_commence(2),
            ],
        ))
        .when_async(agir(2, Action::Attaquer { cible: 0 }))
        .await
        .then_expect_error(ErreurCombat::MonstreDejaVaincu(0));
}

#[tokio::test]
async fn une_classe_sans_pouvoir_de_soin_ne_peut_pas_soigner() {
    essai()
        .given(duo_lance())
        .when_async(agir(1, Action::Soigner { cible: joueur(1) }))
        .await
        .then_expect_error(ErreurCombat::NePeutPasSoigner);
}

#[tokio::test]
async fn on_ne_soigne_pas_quelqu_un_qui_ne_participe_pas_au_combat() {
    essai()
        .given(lance(MEUTE, &[(1, Heal), (2, Tank)]))
        .when_async(agir(1, Action::Soigner { cible: joueur(9) }))
        .await
        .then_expect_error(ErreurCombat::CibleHorsCombat);
}

#[tokio::test]
async fn on_ne_soigne_pas_un_participant_ko() {
    essai()
        .given(puis(
            lance(MEUTE, &[(1, Heal), (2, Tank)]),
            vec![
                frappe(0, 2, stats(Tank).pv_max, 0),
                EvenementCombat::CombattantKo {
                    joueur_id: joueur(2),
                },
            ],
        ))
        .when_async(agir(1, Action::Soigner { cible: joueur(2) }))
        .await
        .then_expect_error(ErreurCombat::CibleKo);
}

#[tokio::test]
async fn on_ne_termine_pas_un_tour_qui_n_a_pas_commence() {
    essai()
        .given(duo_lance())
        .when_async(terminer(2, apres_l_echeance()))
        .await
        .then_expect_error(ErreurCombat::TourFutur {
            demande: 2,
            en_cours: 1,
        });
}

#[tokio::test]
async fn on_ne_termine_pas_un_tour_avant_son_echeance_si_quelqu_un_peut_encore_agir() {
    let juste_avant = echeance(t0()) - TimeDelta::seconds(1);
    essai()
        .given(duo_lance())
        .when_async(terminer(1, juste_avant))
        .await
        .then_expect_error(ErreurCombat::EcheanceNonAtteinte(echeance(t0())));
}

#[tokio::test]
async fn a_l_echeance_exacte_le_tour_peut_se_terminer() {
    let evenements = essai()
        .given(duo_lance())
        .when_async(terminer(1, echeance(t0())))
        .await
        .inspect_result()
        .expect("l'échéance est atteinte");
    assert!(
        matches!(
            evenements.last(),
            Some(EvenementCombat::TourCommence { tour: 2, .. })
        ),
        "{evenements:?}"
    );
}

// ------------------------------------------------------------------ the rules of a fight

#[tokio::test]
async fn chaque_monstre_frappe_le_plus_menacant_et_a_egalite_le_premier_arrive() {
    // Round 1: the DPS (second to join) put threat on the first wolf only.
    let evenements = essai()
        .given(puis(
            duo_lance(),
            vec![coup(2, 0, 20, 20), tour_commence(2)],
        ))
        .when_async(terminer(2, apres_l_echeance()))
        .await
        .inspect_result()
        .expect("le tour se termine");
    assert_eq!(cibles(&evenements), vec![(0, joueur(2)), (1, joueur(1))]);
}

#[tokio::test]
async fn une_provocation_detourne_tous_les_monstres_vers_le_provocateur() {
    // The DPS (1) hit the first wolf this round; the Tank (2) provokes and ends the round.
    let evenements = essai()
        .given(puis(
            lance(MEUTE, &[(1, Dps), (2, Tank)]),
            vec![coup(1, 0, 20, 20)],
        ))
        .when_async(agir(2, Action::Provoquer {}))
        .await
        .inspect_result()
        .expect("la provocation est acceptée");
    assert_eq!(
        evenements.first(),
        Some(&EvenementCombat::ProvocationLancee {
            tour: 1,
            joueur_id: joueur(2),
            menace: vec![20 + BONUS_PROVOCATION, BONUS_PROVOCATION],
        })
    );
    assert_eq!(cibles(&evenements), vec![(0, joueur(2)), (1, joueur(2))]);
}

#[tokio::test]
async fn se_defendre_divise_par_deux_les_degats_recus_jusqu_au_tour_suivant() {
    let sans_defense = essai()
        .given(duo_lance())
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .inspect_result()
        .expect("le tour se termine");
    let avec_defense = essai()
        .given(puis(
            duo_lance(),
            vec![EvenementCombat::DefensePrise {
                tour: 1,
                joueur_id: joueur(1),
            }],
        ))
        .when_async(agir(2, Action::Defendre {}))
        .await
        .inspect_result()
        .expect("la défense est acceptée");
    let degats_recus = |evenements: &[EvenementCombat]| -> Vec<u32> {
        evenements
            .iter()
            .filter_map(|e| match e {
                EvenementCombat::MonstreAttaque { cible, degats, .. } if *cible == joueur(1) => {
                    Some(*degats)
                }
                _ => None,
            })
            .collect()
    };
    let pleins = degats_recus(&sans_defense);
    let reduits = degats_recus(&avec_defense);
    assert_eq!(
        pleins,
        vec![morsure(1, 0, 0, Tank, false), morsure(1, 1, 0, Tank, false)]
    );
    assert_eq!(
        reduits,
        vec![morsure(1, 0, 0, Tank, true), morsure(1, 1, 0, Tank, true)]
    );
    let moities: Vec<u32> = pleins.iter().map(|d| (d / 2).max(1)).collect();
    assert_eq!(reduits, moities);
    // The next round starts without the defense.
    let mut combat = Combat::default();
    for e in puis(
        duo_lance(),
        vec![EvenementCombat::DefensePrise {
            tour: 1,
            joueur_id: joueur(1),
        }],
    )
    .into_iter()
    .chain(avec_defense)
    {
        combat.apply(e);
    }
    let etat = combat.etat().expect("combat préparé");
    assert!(matches!(etat.phase, Phase::EnCours { tour: 2, .. }));
    assert!(etat.participants.iter().all(|p| !p.defend && !p.a_agi));
}

#[tokio::test]
async fn un_soin_ne_rend_pas_plus_que_les_pv_manquants_et_sa_menace_va_aux_monstres_debout() {
    // Round 1: the Tank (2) lost 5 HP and felled the second wolf. Round 2: the Heal heals it.
    let pv_max = stats(Tank).pv_max;
    assert!(
        soin_attendu(2, 0, Heal) > 5,
        "le soin doit dépasser les PV manquants"
    );
    essai()
        .given(puis(
            lance(MEUTE, &[(1, Heal), (2, Tank)]),
            vec![
                frappe(0, 2, 5, pv_max - 5),
                coup(2, 1, loup().pv_max, 100),
                loup_abattu(1),
                tour_commence(2),
            ],
        ))
        .when_async(agir(1, Action::Soigner { cible: joueur(2) }))
        .await
        .then_expect_events(vec![EvenementCombat::SoinProdigue {
            tour: 2,
            joueur_id: joueur(1),
            cible: joueur(2),
            montant: 5,
            pv_apres: pv_max,
            // Half of 5 HP, all for the only wolf standing; the fallen one gets nothing.
            menace: vec![2, 0],
        }]);
}

#[tokio::test]
async fn quand_le_dernier_participant_vivant_agit_les_monstres_agissent_dans_la_meme_commande() {
    // The DPS was knocked out in round 1; in round 2 the Tank alone is left to act.
    let pv_max = stats(Tank).pv_max;
    let d0 = morsure(2, 0, 0, Tank, true);
    let d1 = morsure(2, 1, 0, Tank, true);
    essai()
        .given(puis(
            duo_lance(),
            vec![
                frappe(0, 2, stats(Dps).pv_max, 0),
                EvenementCombat::CombattantKo {
                    joueur_id: joueur(2),
                },
                tour_commence(2),
            ],
        ))
        .when_async(agir(1, Action::Defendre {}))
        .await
        .then_expect_events(vec![
            EvenementCombat::DefensePrise {
                tour: 2,
                joueur_id: joueur(1),
            },
            EvenementCombat::MonstreAttaque {
                tour: 2,
                monstre: 0,
                cible: joueur(1),
                degats: d0,
                pv_restants: pv_max - d0,
                frappe_de_zone: false,
            },
            EvenementCombat::MonstreAttaque {
                tour: 2,
                monstre: 1,
                cible: joueur(1),
                degats: d1,
                pv_restants: pv_max - d0 - d1,
                frappe_de_zone: false,
            },
            EvenementCombat::TourCommence {
                tour: 3,
                echeance: echeance(t0()),
            },
        ]);
}

#[tokio::test]
async fn abattre_le_dernier_monstre_remporte_la_victoire_et_recompense_chaque_participant() {
    // Round 1: the DPS felled the second wolf, the Tank left the first one at 1 HP.
    let pv_loup = loup().pv_max;
    let (degats, critique) = attaque_attendue(2, 1, Dps, 0);
    let monstres = monstres_de(MEUTE);
    let xp_des_loups: u32 = monstres
        .iter()
        .map(|m| {
            catalogue()
                .monstre(&m.code)
                .expect("monstre du catalogue")
                .xp
        })
        .sum();
    let recompenses = vec![
        recompense_attendue(0, 1, &monstres),
        recompense_attendue(1, 2, &monstres),
    ];
    assert!(recompenses.iter().all(|r| r.xp == xp_des_loups));
    essai()
        .given(puis(
            duo_lance(),
            vec![
                coup(2, 1, pv_loup, u64::from(pv_loup)),
                loup_abattu(1),
                coup(1, 0, pv_loup - 1, 100),
                tour_commence(2),
            ],
        ))
        .when_async(agir(2, Action::Attaquer { cible: 0 }))
        .await
        .then_expect_events(vec![
            EvenementCombat::AttaquePortee {
                tour: 2,
                joueur_id: joueur(2),
                monstre: 0,
                degats,
                critique,
                pv_restants: 0,
                menace: u64::from(degats),
            },
            loup_abattu(0),
            EvenementCombat::CombatTermine {
                issue: Issue::Victoire,
                tours: 2,
                participants: vec![bilan(1, Tank, false), bilan(2, Dps, false)],
                monstres_vaincus: vec![code("loup"), code("loup")],
                recompenses,
            },
        ]);
}

#[tokio::test]
async fn quand_tous_les_participants_sont_ko_le_combat_est_perdu_sans_recompense() {
    // The DPS is knocked out and the Tank hangs on at 1 HP: the first wolf finishes it.
    let degats = morsure(1, 0, 0, Tank, false);
    essai()
        .given(puis(
            duo_lance(),
            vec![
                frappe(0, 2, stats(Dps).pv_max, 0),
                EvenementCombat::CombattantKo {
                    joueur_id: joueur(2),
                },
                frappe(1, 1, stats(Tank).pv_max - 1, 1),
            ],
        ))
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .then_expect_events(vec![
            EvenementCombat::MonstreAttaque {
                tour: 1,
                monstre: 0,
                cible: joueur(1),
                degats,
                pv_restants: 0,
                frappe_de_zone: false,
            },
            EvenementCombat::CombattantKo {
                joueur_id: joueur(1),
            },
            EvenementCombat::CombatTermine {
                issue: Issue::Defaite,
                tours: 1,
                participants: vec![bilan(1, Tank, true), bilan(2, Dps, true)],
                monstres_vaincus: vec![],
                recompenses: vec![],
            },
        ]);
}

#[tokio::test]
async fn atteindre_le_nombre_maximal_de_tours_est_une_defaite() {
    let dernier = catalogue().regles().tours_max;
    let pv_max = stats(Tank).pv_max;
    let d0 = morsure(dernier, 0, 0, Tank, false);
    let d1 = morsure(dernier, 1, 0, Tank, false);
    essai()
        .given(puis(duo_lance(), vec![tour_commence(dernier)]))
        .when_async(terminer(dernier, apres_l_echeance()))
        .await
        .then_expect_events(vec![
            EvenementCombat::MonstreAttaque {
                tour: dernier,
                monstre: 0,
                cible: joueur(1),
                degats: d0,
                pv_restants: pv_max - d0,
                frappe_de_zone: false,
            },
            EvenementCombat::MonstreAttaque {
                tour: dernier,
                monstre: 1,
                cible: joueur(1),
                degats: d1,
                pv_restants: pv_max - d0 - d1,
                frappe_de_zone: false,
            },
            EvenementCombat::CombatTermine {
                issue: Issue::Defaite,
                tours: dernier,
                participants: vec![bilan(1, Tank, false), bilan(2, Dps, false)],
                monstres_vaincus: vec![],
                recompenses: vec![],
            },
        ]);
}

#[tokio::test]
async fn terminer_un_tour_deja_fini_ne_change_rien() {
    essai()
        .given(puis(duo_lance(), vec![tour_commence(2)]))
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn terminer_un_tour_apres_la_fin_du_combat_ne_change_rien() {
    essai()
        .given(combat_perdu())
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn la_frappe_de_zone_d_un_boss_touche_tous_les_participants_debout_a_son_rythme() {
    let liche = monstres_de(LICHE).remove(0);
    let zone = liche.frappe_de_zone.expect("la liche a une frappe de zone");
    let groupe = [(1, Tank), (2, Heal)];
    // On a round of its rhythm, it hits everyone at reduced power...
    let tour = zone.tous_les_n_tours;
    let touche = |classe: Classe, cible: u64| {
        let d = frappe_attendue(tour, &liche, 0, cible, classe, zone.puissance_pct, false);
        (d, stats(classe).pv_max - d)
    };
    let (d_tank, pv_tank) = touche(Tank, 0);
    let (d_heal, pv_heal) = touche(Heal, 1);
    essai()
        .given(puis(lance(LICHE, &groupe), vec![tour_commence(tour)]))
        .when_async(terminer(tour, apres_l_echeance()))
        .await
        .then_expect_events(vec![
            EvenementCombat::MonstreAttaque {
                tour,
                monstre: 0,
                cible: joueur(1),
                degats: d_tank,
                pv_restants: pv_tank,
                frappe_de_zone: true,
            },
            EvenementCombat::MonstreAttaque {
                tour,
                monstre: 0,
                cible: joueur(2),
                degats: d_heal,
                pv_restants: pv_heal,
                frappe_de_zone: true,
            },
            EvenementCombat::TourCommence {
                tour: tour + 1,
                echeance: echeance(apres_l_echeance()),
            },
        ]);
    // ...on the others, it strikes its target alone, at full power.
    let d = frappe_attendue(1, &liche, 0, 0, Tank, 100, false);
    let evenements = essai()
        .given(lance(LICHE, &groupe))
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .inspect_result()
        .expect("le tour se termine");
    assert_eq!(
        evenements.first(),
        Some(&EvenementCombat::MonstreAttaque {
            tour: 1,
            monstre: 0,
            cible: joueur(1),
            degats: d,
            pv_restants: stats(Tank).pv_max - d,
            frappe_de_zone: false,
        })
    );
    assert_eq!(cibles(&evenements).len(), 1);
}

#[tokio::test]
async fn la_meme_graine_donne_les_memes_evenements() {
    let (_, premier) = combattre(Graine::new(7)).await;
    let (_, second) = combattre(Graine::new(7)).await;
    assert!(
        matches!(premier.last(), Some(EvenementCombat::CombatTermine { .. })),
        "le combat doit aller à son terme"
    );
    assert_eq!(premier, second);
    // The seed is what decides: another one gives another fight (past the `CombatPrepare`
    // that records it).
    let (_, autre) = combattre(Graine::new(8)).await;
    assert_ne!(premier[1..], autre[1..]);
}

#[tokio::test]
async fn rejouer_les_evenements_emis_redonne_l_etat_de_l_agregat() {
    let (agregat, historique) = combattre(GRAINE).await;
    let json = serde_json::to_string(&historique).expect("les événements se sérialisent");
    let relus: Vec<EvenementCombat> = serde_json::from_str(&json).expect("et se relisent");
    let mut rejoue = Combat::default();
    for evenement in relus {
        rejoue.apply(evenement);
    }
    assert_eq!(rejoue, agregat);

    // And that state is the one the events told.
    let etat = rejoue.etat().expect("combat préparé");
    let Some(EvenementCombat::CombatTermine { issue, tours, .. }) = historique.last() else {
        panic!("le combat doit aller à son terme : {:?}", historique.last());
    };
    assert_eq!(
        etat.phase,
        Phase::Termine {
            issue: *issue,
            tours: *tours
        }
    );
    let mut pv_monstres: Vec<u32> = etat.monstres.iter().map(|m| m.engage.pv_max).collect();
    let mut pv_participants: BTreeMap<JoueurId, u32> = etat
        .participants
        .iter()
        .map(|p| (p.combattant.joueur_id, p.combattant.stats.pv_max))
        .collect();
    for evenement in &historique {
        match evenement {
            EvenementCombat::AttaquePortee {
                monstre,
                pv_restants,
                ..
            } => pv_monstres[*monstre as usize] = *pv_restants,
            EvenementCombat::MonstreAttaque {
                cible, pv_restants, ..
            } => {
                pv_participants.insert(*cible, *pv_restants);
            }
            EvenementCombat::SoinProdigue {
                cible, pv_apres, ..
            } => {
                pv_participants.insert(*cible, *pv_apres);
            }
            _ => {}
        }
    }
    let a_frappe = |f: fn(&EvenementCombat) -> bool| historique.iter().any(f);
    assert!(
        a_frappe(|e| matches!(e, EvenementCombat::AttaquePortee { .. }))
            && a_frappe(|e| matches!(e, EvenementCombat::MonstreAttaque { .. })),
        "des coups ont été portés de part et d'autre"
    );
    let etat_pv_monstres: Vec<u32> = etat.monstres.iter().map(|m| m.pv).collect();
    assert_eq!(etat_pv_monstres, pv_monstres);
    for p in &etat.participants {
        assert_eq!(Some(&p.pv), pv_participants.get(&p.combattant.joueur_id));
    }
}

// ------------------------------------------------------------------ leaving before the launch

fn quitter(n: u64) -> CommandeCombat {
    CommandeCombat::Quitter {
        joueur_id: joueur(n),
    }
}

#[tokio::test]
async fn un_participant_peut_quitter_un_combat_en_preparation() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]))
        .when_async(quitter(2))
        .await
        .then_expect_events(vec![EvenementCombat::CombattantParti {
            joueur_id: joueur(2),
        }]);
}

#[tokio::test]
async fn une_place_liberee_peut_etre_reprise() {
    let max = catalogue().regles().taille_groupe_max;
    let groupe: Vec<_> = (1..=u64::from(max)).map(|n| (n, Dps)).collect();
    let parti = EvenementCombat::CombattantParti {
        joueur_id: joueur(2),
    };
    let arrivant = u64::from(max) + 1;
    essai()
        .given(puis(en_preparation(MEUTE, &groupe), vec![parti]))
        .when_async(CommandeCombat::Rejoindre {
            combattant: combattant(arrivant, Heal),
        })
        .await
        .then_expect_events(vec![rejoint(arrivant, Heal)]);
}

#[tokio::test]
async fn l_initiateur_qui_part_annule_le_combat_et_libere_tout_le_monde() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank), (2, Dps), (3, Heal)]))
        .when_async(quitter(1))
        .await
        .then_expect_events(vec![EvenementCombat::CombatAnnule {
            participants: vec![joueur(1), joueur(2), joueur(3)],
        }]);
}

#[tokio::test]
async fn on_ne_quitte_pas_un_combat_dont_on_ne_fait_pas_partie() {
    essai()
        .given(en_preparation(MEUTE, &[(1, Tank)]))
        .when_async(quitter(2))
        .await
        .then_expect_error(ErreurCombat::PasParticipant);
}

#[tokio::test]
async fn on_ne_quitte_pas_un_combat_deja_lance() {
    essai()
        .given(duo_lance())
        .when_async(quitter(2))
        .await
        .then_expect_error(ErreurCombat::CombatDejaLance);
}

#[tokio::test]
async fn un_combat_annule_refuse_toute_commande() {
    let annule = EvenementCombat::CombatAnnule {
        participants: vec![joueur(1), joueur(2)],
    };
    let historique = puis(en_preparation(MEUTE, &[(1, Tank), (2, Dps)]), vec![annule]);
    for commande in [
        CommandeCombat::Rejoindre {
            combattant: combattant(3, Heal),
        },
        CommandeCombat::Lancer {
            joueur_id: joueur(1),
            maintenant: t0(),
        },
        agir(2, Action::Defendre {}),
        quitter(2),
    ] {
        essai()
            .given(historique.clone())
            .when_async(commande)
            .await
            .then_expect_error(ErreurCombat::CombatAnnule);
    }
    essai()
        .given(historique)
        .when_async(terminer(1, apres_l_echeance()))
        .await
        .then_expect_events(vec![]);
}

#[test]
fn une_action_avec_un_champ_en_trop_est_refusee() {
    let lue = |texte: &str| serde_json::from_str::<Action>(texte);
    assert_eq!(
        lue(r#"{"type":"attaquer","cible":1}"#).ok(),
        Some(Action::Attaquer { cible: 1 })
    );
    assert!(lue(r#"{"type":"provoquer","cible":3}"#).is_err());
    assert!(lue(r#"{"type":"attaquer","cible":1,"force":9}"#).is_err());
    assert!(lue(r#"{"type":"defendre"}"#).is_ok());
}

// ------------------------------------------------------------------ golden values
//
// The tests above take their expected numbers from `degats`, `soin` and the dice: they prove
// the engine uses the formulas, not that the formulas are right. These pin the numbers
// themselves, worked out by hand from agregats.md §4 (integer arithmetic, every division
// truncated): a change to a formula, a constant or a roll fails here.

#[test]
fn les_formules_donnent_les_nombres_calcules_a_la_main() {
    // (attaque, défense, variance, critique, puissance, défend) -> dégâts
    let cas = [
        // DPS (22) on a wolf (3): 22·100·100/10 000 = 22; 22·50/53 = 1 100/53 = 20.
        ((22, 3, 100, false, 100, false), 20),
        // Critical: 22·3/2 = 33; 33·50/53 = 1 650/53 = 31.
        ((22, 3, 100, true, 100, false), 31),
        // Wolf (18) on a Tank (30): 18·50/80 = 900/80 = 11; defending, 11/2 = 5.
        ((18, 30, 100, false, 100, false), 11),
        ((18, 30, 100, false, 100, true), 5),
        // Variance 115, power 60 %: 40·115·60/10 000 = 27; 27·50/58 = 1 350/58 = 23.
        ((40, 8, 115, false, 60, false), 23),
        // The critical multiplies the truncated base: 10·87·100/10 000 = 8; 8·3/2 = 12;
        // no defense, 12·50/50 = 12 (8.7 × 1.5 = 13.05 would give 13).
        ((10, 0, 87, true, 100, false), 12),
        // Nothing gets through: 1·85·100/10 000 = 0; 0·50/1 050 = 0; at least 1.
        ((1, 1_000, 85, false, 100, false), 1),
    ];
    for ((attaque, defense, variance, critique, puissance, defend), attendu) in cas {
        assert_eq!(
            degats(attaque, defense, variance, critique, puissance, defend),
            attendu,
            "degats({attaque}, {defense}, {variance}, {critique}, {puissance}, {defend})"
        );
    }
    // Heal (26): 26·90/100 = 23.4 → 23; 26·110/100 = 28.6 → 28; 26·104/100 = 27.04 → 27.
    assert_eq!([soin(26, 90), soin(26, 110), soin(26, 104)], [23, 28, 27]);
}

#[tokio::test]
async fn le_tank_de_la_graine_42_frappe_un_loup_d_un_coup_critique_de_11() {
    // Seed 42, round 1, participant 0 on monster 0: the variance roll is 87, the critical
    // roll 1 (< the Tank's 5 %). 10·87·100/10 000 = 8; critical 8·3/2 = 12; the wolf's
    // defense 3: 12·50/53 = 11. Threat 11·250/100 = 27; the wolf keeps 45 − 11 = 34.
    essai()
        .given(duo_lance())
        .when_async(agir(1, Action::Attaquer { cible: 0 }))
        .await
        .then_expect_events(vec![EvenementCombat::AttaquePortee {
            tour: 1,
            joueur_id: joueur(1),
            monstre: 0,
            degats: 11,
            critique: true,
            pv_restants: 34,
            menace: 27,
        }]);
}

#[tokio::test]
async fn le_dps_de_la_graine_42_frappe_un_loup_de_19_sans_critique() {
    // Seed 42, round 1, participant 1 on monster 0: variance 96, critical roll 86 (not under
    // the DPS's 20 %). 22·96·100/10 000 = 21; 21·50/53 = 1 050/53 = 19. Threat 19·100/100 =
    // 19; the wolf keeps 45 − 19 = 26.
    essai()
        .given(duo_lance())
        .when_async(agir(2, Action::Attaquer { cible: 0 }))
        .await
        .then_expect_events(vec![EvenementCombat::AttaquePortee {
            tour: 1,
            joueur_id: joueur(2),
            monstre: 0,
            degats: 19,
            critique: false,
            pv_restants: 26,
            menace: 19,
        }]);
}

#[tokio::test]
async fn le_soin_de_la_graine_42_au_tour_2_rend_27_pv() {
    // Seed 42, round 2, healer 0: variance 104. 26·104/100 = 27 (the Tank misses 60, no cap):
    // 150 − 60 + 27 = 117. Threat on each of the two standing wolves: 27/2 = 13, 13/2 = 6.
    essai()
        .given(puis(
            lance(MEUTE, &[(1, Heal), (2, Tank)]),
            vec![frappe(0, 2, 60, 90), tour_commence(2)],
        ))
        .when_async(agir(1, Action::Soigner { cible: joueur(2) }))
        .await
        .then_expect_events(vec![EvenementCombat::SoinProdigue {
            tour: 2,
            joueur_id: joueur(1),
            cible: joueur(2),
            montant: 27,
            pv_apres: 117,
            menace: vec![6, 6],
        }]);
}
