//! Properties of the aggregates over generated command sequences (proptest):
//! - replaying the stored stream (events through JSON, as the store keeps them) rebuilds the
//!   live state exactly, and so does a stored snapshot taken at any cut of the stream (the state
//!   through JSON, as `instantanes.etat` keeps it) followed by the events after the cut, for
//!   every aggregate (doc/magasin.md §2, « Les instantanés »);
//! - gold and item counts never go below zero, and every balance an event carries is the
//!   previous balance plus or minus the movement; reserved goods are always held;
//! - an operation applied twice under the same natural key (combat, quest, crafting id, trade)
//!   adds nothing the second time;
//! - hit points stay within [0, max] for participants and monsters alike.

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use domain::catalogue::LigneItem;
use domain::combat::{Action, Combat, Combattant, CommandeCombat, EvenementCombat};
use domain::echange::{CommandeEchange, Echange, Offre};
use domain::ids::{CombatId, EchangeId, FabricationId, JoueurId};
use domain::inventaire::{CommandeInventaire, EvenementInventaire, Inventaire};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::quete::{CommandeQuete, Fait, Quete};
use domain::valeurs::{
    Classe, CodeItem, CodeMarchand, CodeQuete, CodeRecette, CodeRencontre, Graine, Horodatage,
    Niveau, NomJoueur, Or, Quantite,
};
use domain::{Catalogue, Services};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

fn catalogue() -> Services {
    Catalogue::officiel().expect("catalogue officiel valide")
}

fn id(espace: u64, n: u64) -> Uuid {
    Uuid::from_u64_pair(espace, n)
}

/// Runs one command like the framework does: decide, apply through the sink, collect.
fn executer<A: Aggregate>(
    agregat: &mut A,
    commande: A::Command,
    services: &A::Services,
) -> Result<Vec<A::Event>, A::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime de test");
    runtime.block_on(async {
        let sink = EventSink::default();
        agregat.handle(commande, services, &sink).await?;
        Ok(sink.collect().await)
    })
}

/// Replays a stream as the store returns it: every event through JSON, into a fresh aggregate.
fn rejouer<A: Aggregate + PartialEq + std::fmt::Debug>(evenements: &[A::Event]) -> A
where
    A::Event: Serialize + DeserializeOwned,
{
    let mut agregat = A::default();
    for e in evenements {
        let json = serde_json::to_string(e).expect("événement sérialisable");
        agregat.apply(serde_json::from_str(&json).expect("événement relisible"));
    }
    agregat
}

/// A cold load from a stored snapshot: the fold of the events before the cut, through JSON as
/// the snapshot table keeps it, then the events after the cut, each through JSON.
fn instantane_puis_suite<A: Aggregate + PartialEq + std::fmt::Debug>(
    evenements: &[A::Event],
    coupe: Index,
) -> A
where
    A::Event: Serialize + DeserializeOwned,
{
    let coupe = coupe.index(evenements.len() + 1);
    let etat =
        serde_json::to_string(&rejouer::<A>(&evenements[..coupe])).expect("état sérialisable");
    let mut agregat: A = serde_json::from_str(&etat).expect("état relisible");
    for e in &evenements[coupe..] {
        let json = serde_json::to_string(e).expect("événement sérialisable");
        agregat.apply(serde_json::from_str(&json).expect("événement relisible"));
    }
    agregat
}

fn items() -> Vec<CodeItem> {
    catalogue().items().keys().cloned().collect()
}

fn quantite() -> impl Strategy<Value = Quantite> {
    (1u64..=30).prop_map(|n| Quantite::parse(n).expect("quantité"))
}

fn offre() -> impl Strategy<Value = Offre> {
    (
        0u64..200,
        proptest::collection::btree_map(select(items()), quantite(), 0..3),
    )
        .prop_map(|(or, items)| Offre {
            or: Or::new(or),
            items,
        })
}

fn lignes() -> impl Strategy<Value = Vec<LigneItem>> {
    proptest::collection::vec(
        (select(items()), quantite()).prop_map(|(item, quantite)| LigneItem { item, quantite }),
        0..4,
    )
}

/// Inventory commands over small pools of ids, so that duplicates happen often.
fn commande_inventaire() -> impl Strategy<Value = CommandeInventaire> {
    let cat = catalogue();
    let marchands: Vec<CodeMarchand> = cat.marchands().keys().cloned().collect();
    let recettes: Vec<CodeRecette> = cat.recettes().keys().cloned().collect();
    let quetes: Vec<CodeQuete> = cat.quetes().keys().cloned().collect();
    let combat = (0u64..4).prop_map(|n| CombatId::from_uuid(id(3, n)));
    let echange = (0u64..3).prop_map(|n| EchangeId::from_uuid(id(4, n)));
    prop_oneof![
        (combat, 0u64..300, lignes()).prop_map(|(combat_id, or, items)| {
            CommandeInventaire::RecevoirButin {
                combat_id,
                or: Or::new(or),
                items,
            }
        }),
        (select(quetes), 0u64..300, lignes()).prop_map(|(quete, or, items)| {
            CommandeInventaire::RecevoirRecompense {
                quete,
                or: Or::new(or),
                items,
            }
        }),
        (0u64..6, select(recettes)).prop_map(|(n, recette)| CommandeInventaire::Fabriquer {
            fabrication_id: FabricationId::from_uuid(id(5, n)),
            recette,
        }),
        (select(marchands.clone()), select(items()), quantite()).prop_map(
            |(marchand, item, quantite)| CommandeInventaire::Acheter {
                marchand,
                item,
                quantite,
            }
        ),
        (select(marchands), select(items()), quantite()).prop_map(|(marchand, item, quantite)| {
            CommandeInventaire::Vendre {
                marchand,
                item,
                quantite,
            }
        }),
        (select(items()), quantite())
            .prop_map(|(item, quantite)| CommandeInventaire::Jeter { item, quantite }),
        (
            (0u64..3).prop_map(|n| EchangeId::from_uuid(id(4, n))),
            offre()
        )
            .prop_map(|(echange_id, offre)| CommandeInventaire::Reserver { echange_id, offre }),
        echange
            .clone()
            .prop_map(|echange_id| CommandeInventaire::Liberer { echange_id }),
        (echange, offre(), offre()).prop_map(|(echange_id, donne, recu)| {
            CommandeInventaire::ConclureEchange {
                echange_id,
                avec: JoueurId::from_uuid(id(1, 99)),
                donne,
                recu,
            }
        }),
    ]
}

/// Gold and item balances as the events say, checked against each movement.
#[derive(Default)]
struct Registre {
    or: u64,
    items: BTreeMap<CodeItem, u32>,
}

impl Registre {
    fn suivre(&mut self, e: &EvenementInventaire) -> Result<(), TestCaseError> {
        match e {
            EvenementInventaire::OrCredite { montant, solde, .. } => {
                prop_assert_eq!(self.or + montant.pieces(), solde.pieces());
                self.or = solde.pieces();
            }
            EvenementInventaire::OrDebite { montant, solde, .. } => {
                prop_assert!(
                    montant.pieces() <= self.or,
                    "débit {} > solde {}",
                    montant,
                    self.or
                );
                prop_assert_eq!(self.or - montant.pieces(), solde.pieces());
                self.or = solde.pieces();
            }
            EvenementInventaire::ItemAjoute {
                item,
                quantite,
                total,
                ..
            } => {
                let avant = self.items.get(item).copied().unwrap_or(0);
                prop_assert_eq!(avant + quantite.valeur(), *total);
                self.items.insert(item.clone(), *total);
            }
            EvenementInventaire::ItemRetire {
                item,
                quantite,
                total,
                ..
            } => {
                let avant = self.items.get(item).copied().unwrap_or(0);
                prop_assert!(
                    quantite.valeur() <= avant,
                    "retrait de {quantite} {item} sur {avant}"
                );
                prop_assert_eq!(avant - quantite.valeur(), *total);
                self.items.insert(item.clone(), *total);
            }
            _ => {}
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn l_inventaire_ne_passe_jamais_sous_zero_et_se_rejoue_a_l_identique(
        commandes in proptest::collection::vec(commande_inventaire(), 1..40),
        coupe in any::<Index>(),
    ) {
        let cat = catalogue();
        let mut inventaire = Inventaire::default();
        let mut flux = executer(
            &mut inventaire,
            CommandeInventaire::Ouvrir { joueur_id: JoueurId::from_uuid(id(1, 1)) },
            &cat,
        )
        .expect("ouverture");
        let mut registre = Registre::default();
        for e in &flux {
            registre.suivre(e)?;
        }
        let mut cles_vues = BTreeSet::new();
        for commande in commandes {
            // A loot, reward, crafting or settlement key seen before must add nothing.
            let cle = match &commande {
                CommandeInventaire::RecevoirButin { combat_id, .. } => Some(format!("b{combat_id}")),
                CommandeInventaire::RecevoirRecompense { quete, .. } => Some(format!("q{quete}")),
                CommandeInventaire::Fabriquer { fabrication_id, .. } => Some(format!("f{fabrication_id}")),
                CommandeInventaire::ConclureEchange { echange_id, .. } => Some(format!("e{echange_id}")),
                _ => None,
            };
            let deja = cle.as_ref().is_some_and(|c| cles_vues.contains(c));
            if let Ok(evenements) = executer(&mut inventaire, commande, &cat) {
                if deja {
                    prop_assert!(evenements.is_empty(), "une opération rejouée a produit {evenements:?}");
                }
                if let Some(c) = cle.filter(|_| !evenements.is_empty()) {
                    cles_vues.insert(c);
                }
                for e in &evenements {
                    registre.suivre(e)?;
                }
                flux.extend(evenements);
            }
            let contenu = inventaire.contenu().expect("inventaire ouvert");
            prop_assert_eq!(contenu.or.pieces(), registre.or);
            prop_assert!(contenu.items.values().all(|&n| n > 0));
            // Each open trade locks the most any of its offers asks; all locks are held.
            let reserve_or: u64 = contenu
                .reservations
                .values()
                .map(|offres| offres.iter().map(|o| o.or.pieces()).max().unwrap_or(0))
                .sum();
            prop_assert!(reserve_or <= contenu.or.pieces(), "or réservé {reserve_or} > détenu {}", contenu.or);
            for item in contenu.reservations.values().flatten().flat_map(|o| o.items.keys()) {
                let reserve: u32 = contenu
                    .reservations
                    .values()
                    .map(|offres| offres.iter().filter_map(|o| o.items.get(item)).map(|q| q.valeur()).max().unwrap_or(0))
                    .sum();
                let detenu = contenu.items.get(item).copied().unwrap_or(0);
                prop_assert!(reserve <= detenu, "{reserve} {item} réservés pour {detenu} détenus");
            }
        }
        prop_assert_eq!(rejouer::<Inventaire>(&flux), inventaire.clone());
        prop_assert_eq!(instantane_puis_suite::<Inventaire>(&flux, coupe), inventaire);
    }
}

fn combattant(n: u64, classe: Classe, niveau: Niveau) -> Combattant {
    Combattant {
        joueur_id: JoueurId::from_uuid(id(1, n)),
        nom: NomJoueur::parse(&format!("Heros{n}")).expect("nom"),
        classe,
        niveau,
    }
}

fn classe() -> impl Strategy<Value = Classe> {
    prop_oneof![Just(Classe::Tank), Just(Classe::Dps), Just(Classe::Heal)]
}

/// What a generated participant tries, valid or not.
#[derive(Debug, Clone)]
enum Essai {
    Agir { qui: u64, action: u8, cible: u32 },
    FinDeTour { tour: u32, secondes: i64 },
}

fn essai() -> impl Strategy<Value = Essai> {
    prop_oneof![
        8 => (0u64..6, 0u8..4, 0u32..5).prop_map(|(qui, action, cible)| Essai::Agir { qui, action, cible }),
        1 => (1u32..4, 0i64..120).prop_map(|(tour, secondes)| Essai::FinDeTour { tour, secondes }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn les_pv_restent_entre_zero_et_le_maximum_et_le_combat_se_rejoue(
        rencontre in select(catalogue().rencontres().keys().cloned().collect::<Vec<CodeRencontre>>()),
        groupe in proptest::collection::vec((classe(), 1u32..=20), 1..=5),
        graine in any::<u64>(),
        essais in proptest::collection::vec(essai(), 1..150),
        coupe in any::<Index>(),
    ) {
        let cat = catalogue();
        let zone = cat.rencontre(&rencontre).expect("rencontre").zone.clone();
        let membres: Vec<Combattant> = groupe
            .iter()
            .enumerate()
            .map(|(i, &(classe, n))| combattant(i as u64, classe, Niveau::parse(n).expect("niveau")))
            .collect();
        let t0: Horodatage = "2026-01-01T00:00:00Z".parse().expect("date");
        let mut combat = Combat::default();
        let mut flux = executer(&mut combat, CommandeCombat::Preparer {
            combat_id: CombatId::from_uuid(id(3, 1)),
            rencontre,
            zone,
            graine: Graine::new(graine),
            initiateur: membres[0].clone(),
        }, &cat).expect("préparation");
        for m in &membres[1..] {
            flux.extend(executer(&mut combat, CommandeCombat::Rejoindre { combattant: m.clone() }, &cat).expect("rejoindre"));
        }
        flux.extend(executer(&mut combat, CommandeCombat::Lancer { joueur_id: membres[0].joueur_id, maintenant: t0 }, &cat).expect("lancer"));
        for (pas, essai) in essais.into_iter().enumerate() {
            let maintenant = t0 + chrono::TimeDelta::seconds(i64::try_from(pas).expect("petit pas"));
            let commande = match essai {
                Essai::Agir { qui, action, cible } => CommandeCombat::Agir {
                    joueur_id: JoueurId::from_uuid(id(1, qui)),
                    action: match action {
                        0 => Action::Attaquer { cible },
                        1 => Action::Soigner { cible: JoueurId::from_uuid(id(1, u64::from(cible))) },
                        2 => Action::Provoquer {},
                        _ => Action::Defendre {},
                    },
                    maintenant,
                },
                Essai::FinDeTour { tour, secondes } => CommandeCombat::TerminerTour {
                    tour,
                    maintenant: maintenant + chrono::TimeDelta::seconds(secondes),
                },
            };
            if let Ok(evenements) = executer(&mut combat, commande, &cat) {
                flux.extend(evenements);
            }
            let etat = combat.etat().expect("combat préparé");
            for p in &etat.participants {
                prop_assert!(p.pv <= p.combattant.stats.pv_max, "participant à {} / {}", p.pv, p.combattant.stats.pv_max);
            }
            for m in &etat.monstres {
                prop_assert!(m.pv <= m.engage.pv_max, "monstre à {} / {}", m.pv, m.engage.pv_max);
            }
        }
        for e in &flux {
            if let EvenementCombat::SoinProdigue { pv_apres, cible, .. } = e {
                let max = combat.etat().and_then(|c| c.participant(*cible)).map(|(_, p)| p.combattant.stats.pv_max);
                prop_assert!(Some(*pv_apres) <= max);
            }
        }
        prop_assert_eq!(rejouer::<Combat>(&flux), combat.clone());
        prop_assert_eq!(instantane_puis_suite::<Combat>(&flux, coupe), combat);
    }

    #[test]
    fn l_xp_ne_compte_qu_une_fois_par_source_et_le_personnage_se_rejoue(
        classe in classe(),
        gains in proptest::collection::vec((0u64..8, 1u32..2_000), 1..40),
    ) {
        let cat = catalogue();
        let mut joueur = Joueur::default();
        let mut flux = executer(&mut joueur, CommandeJoueur::Creer {
            joueur_id: JoueurId::from_uuid(id(1, 1)),
            compte_id: domain::ids::CompteId::from_uuid(id(2, 1)),
            nom: NomJoueur::parse("Propriete").expect("nom"),
            classe,
        }, &cat).expect("création");
        let mut payees: BTreeMap<u64, u32> = BTreeMap::new();
        for (source, xp) in gains {
            let evenements = executer(&mut joueur, CommandeJoueur::GagnerXp {
                source: SourceXp::Combat(CombatId::from_uuid(id(3, source))),
                xp,
            }, &cat).expect("gain d'xp");
            match payees.entry(source) {
                std::collections::btree_map::Entry::Occupied(_) => prop_assert!(evenements.is_empty()),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(xp);
                }
            }
            flux.extend(evenements);
        }
        let fiche = joueur.fiche().expect("personnage");
        let attendu: u64 = payees.values().map(|&x| u64::from(x)).sum();
        prop_assert_eq!(fiche.xp, attendu);
        prop_assert_eq!(fiche.niveau, cat.niveau_pour_xp(attendu));
        prop_assert_eq!(fiche.stats, cat.stats(classe, fiche.niveau));
        prop_assert_eq!(rejouer::<Joueur>(&flux), joueur);
    }

    #[test]
    fn la_progression_d_une_quete_ne_compte_chaque_fait_qu_une_fois(
        livraisons in proptest::collection::vec(0u64..6, 1..30),
        coupe in any::<Index>(),
    ) {
        let cat = catalogue();
        let quete: CodeQuete = "chasse_aux_loups".parse().expect("code");
        let mut q = Quete::default();
        let mut flux = executer(&mut q, CommandeQuete::Accepter {
            joueur_id: JoueurId::from_uuid(id(1, 1)),
            quete: quete.clone(),
            niveau_joueur: Niveau::UN,
            quetes_terminees: BTreeSet::new(),
        }, &cat).expect("acceptation");
        let requis = cat.quete(&quete).expect("quête").objectif.requis();
        // A combat's outcome is a fact: each delivery of the same combat says the same thing.
        let loups_du_combat = |combat: u64| (combat % 4) as usize;
        let mut livres = BTreeSet::new();
        for combat in livraisons {
            let fait = Fait::CombatTermine {
                combat_id: CombatId::from_uuid(id(3, combat)),
                victoire: true,
                classe: Classe::Dps,
                monstres_vaincus: vec!["loup".parse().expect("code"); loups_du_combat(combat)],
            };
            let terminee = q.etat().is_some_and(|e| e.progression >= requis);
            match executer(&mut q, CommandeQuete::Progresser { fait }, &cat) {
                Ok(evenements) => {
                    livres.insert(combat);
                    flux.extend(evenements);
                }
                Err(e) => prop_assert!(terminee, "refus {e} alors que la quête est en cours"),
            }
        }
        let attendu = livres.iter().map(|&c| loups_du_combat(c) as u32).sum::<u32>().min(requis);
        prop_assert_eq!(q.etat().expect("quête acceptée").progression, attendu);
        prop_assert_eq!(rejouer::<Quete>(&flux), q.clone());
        prop_assert_eq!(instantane_puis_suite::<Quete>(&flux, coupe), q);
    }

    #[test]
    fn un_personnage_se_recharge_d_un_instantane_a_toute_coupe(
        classe in classe(),
        commandes in proptest::collection::vec(commande_joueur(), 1..60),
        coupe in any::<Index>(),
    ) {
        let cat = catalogue();
        let mut joueur = Joueur::default();
        let mut flux = executer(&mut joueur, CommandeJoueur::Creer {
            joueur_id: JoueurId::from_uuid(id(1, 1)),
            compte_id: domain::ids::CompteId::from_uuid(id(2, 1)),
            nom: NomJoueur::parse("Instantane").expect("nom"),
            classe,
        }, &cat).expect("création");
        for commande in commandes {
            if let Ok(evenements) = executer(&mut joueur, commande, &cat) {
                flux.extend(evenements);
            }
        }
        prop_assert_eq!(rejouer::<Joueur>(&flux), joueur.clone());
        prop_assert_eq!(instantane_puis_suite::<Joueur>(&flux, coupe), joueur);
    }

    #[test]
    fn un_echange_se_recharge_d_un_instantane_a_toute_coupe(
        premiere in offre(),
        commandes in proptest::collection::vec(commande_echange(), 1..30),
        coupe in any::<Index>(),
    ) {
        let cat = catalogue();
        let mut echange = Echange::default();
        let mut flux = executer(&mut echange, CommandeEchange::Proposer {
            echange_id: EchangeId::from_uuid(id(4, 1)),
            proposant: JoueurId::from_uuid(id(1, 0)),
            destinataire: JoueurId::from_uuid(id(1, 1)),
            offre: premiere,
            echeance: seconde(ECHEANCE_S),
        }, &cat).expect("proposition");
        for commande in commandes {
            if let Ok(evenements) = executer(&mut echange, commande, &cat) {
                flux.extend(evenements);
            }
        }
        prop_assert_eq!(rejouer::<Echange>(&flux), echange.clone());
        prop_assert_eq!(instantane_puis_suite::<Echange>(&flux, coupe), echange);
    }
}

/// A character's commands over small pools of combats and quests: XP gains (each source paid
/// once), entering and leaving combats, valid or not.
fn commande_joueur() -> impl Strategy<Value = CommandeJoueur> {
    let quetes: Vec<CodeQuete> = catalogue().quetes().keys().cloned().collect();
    let combat = || (0u64..4).prop_map(|n| CombatId::from_uuid(id(3, n)));
    prop_oneof![
        (combat(), 1u32..3_000).prop_map(|(c, xp)| CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(c),
            xp,
        }),
        (select(quetes), 1u32..3_000).prop_map(|(q, xp)| CommandeJoueur::GagnerXp {
            source: SourceXp::Quete(q),
            xp,
        }),
        combat().prop_map(|combat_id| CommandeJoueur::EntrerEnCombat { combat_id }),
        combat().prop_map(|combat_id| CommandeJoueur::SortirDuCombat { combat_id }),
    ]
}

/// The deadline of the trades above, in seconds after the epoch.
const ECHEANCE_S: i64 = 60;

/// A moment, `s` seconds after the epoch.
fn seconde(s: i64) -> Horodatage {
    chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::seconds(s)
}

/// A trade's commands from its two sides and an outsider (players 0, 1 and 2), valid or not,
/// before or after the trade's deadline.
fn commande_echange() -> impl Strategy<Value = CommandeEchange> {
    let qui = || (0u64..3).prop_map(|n| JoueurId::from_uuid(id(1, n)));
    let quand = || (0..ECHEANCE_S * 2).prop_map(seconde);
    prop_oneof![
        2 => (qui(), offre(), quand()).prop_map(|(joueur_id, offre, maintenant)| CommandeEchange::Modifier { joueur_id, offre, maintenant }),
        3 => (qui(), quand()).prop_map(|(joueur_id, maintenant)| CommandeEchange::Accepter { joueur_id, maintenant }),
        1 => qui().prop_map(|joueur_id| CommandeEchange::Annuler { joueur_id }),
        1 => quand().prop_map(|maintenant| CommandeEchange::Expirer { maintenant }),
    ]
}
