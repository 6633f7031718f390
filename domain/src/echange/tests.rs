//! Given/when/then tests of the `Echange` aggregate: offers, acceptances and closing. Each side
//! offers something different, so a conclusion that mixed the two offers up would be caught.

use chrono::TimeDelta;
use cqrs_es::test::TestFramework;

use super::{CommandeEchange, Echange, ErreurEchange, EvenementEchange, Offre};
use crate::essais::{catalogue, code, echange, joueur, or, q, t0};
use crate::valeurs::{CodeItem, Horodatage};

type Essai = TestFramework<Echange>;

fn offre(pieces: u64, items: &[(&str, u32)]) -> Offre {
    Offre {
        or: or(pieces),
        items: items
            .iter()
            .map(|&(c, n)| (code::<CodeItem>(c), q(n)))
            .collect(),
    }
}

/// What the proposer, `joueur(1)`, offers.
fn offre_proposant() -> Offre {
    offre(10, &[("pain", 2)])
}

/// What the recipient, `joueur(2)`, offers.
fn offre_destinataire() -> Offre {
    offre(0, &[("potion_de_soin", 1)])
}

/// The trade's deadline: ten minutes after [`t0`], when every command below is sent.
fn echeance() -> Horodatage {
    t0() + TimeDelta::minutes(10)
}

/// A moment past the deadline.
fn echu() -> Horodatage {
    echeance() + TimeDelta::seconds(1)
}

fn propose(o: Offre) -> EvenementEchange {
    EvenementEchange::EchangePropose {
        echange_id: echange(1),
        proposant: joueur(1),
        destinataire: joueur(2),
        offre: o,
        echeance: echeance(),
    }
}

/// A trade where both sides put their offer on the table and nobody accepted yet.
fn negocie() -> Vec<EvenementEchange> {
    vec![
        propose(offre_proposant()),
        EvenementEchange::OffreModifiee {
            joueur_id: joueur(2),
            offre: offre_destinataire(),
        },
    ]
}

fn accepte(n: u64) -> EvenementEchange {
    EvenementEchange::EchangeAccepte {
        joueur_id: joueur(n),
    }
}

fn conclu() -> EvenementEchange {
    EvenementEchange::EchangeConclu {
        proposant: joueur(1),
        offre_proposant: offre_proposant(),
        destinataire: joueur(2),
        offre_destinataire: offre_destinataire(),
    }
}

fn avec(
    historique: Vec<EvenementEchange>,
    suite: impl IntoIterator<Item = EvenementEchange>,
) -> Vec<EvenementEchange> {
    let mut tout = historique;
    tout.extend(suite);
    tout
}

fn accepter(n: u64) -> CommandeEchange {
    CommandeEchange::Accepter {
        joueur_id: joueur(n),
        maintenant: t0(),
    }
}

fn modifier(n: u64, o: Offre) -> CommandeEchange {
    CommandeEchange::Modifier {
        joueur_id: joueur(n),
        offre: o,
        maintenant: t0(),
    }
}

fn expirer(maintenant: Horodatage) -> CommandeEchange {
    CommandeEchange::Expirer { maintenant }
}

fn expire() -> EvenementEchange {
    EvenementEchange::EchangeExpire {
        echeance: echeance(),
    }
}

fn annuler(n: u64) -> CommandeEchange {
    CommandeEchange::Annuler {
        joueur_id: joueur(n),
    }
}

fn proposer() -> CommandeEchange {
    CommandeEchange::Proposer {
        echange_id: echange(1),
        proposant: joueur(1),
        destinataire: joueur(2),
        offre: offre_proposant(),
        echeance: echeance(),
    }
}

// ------------------------------------------------------------------ successes

#[tokio::test]
async fn proposer_ouvre_l_echange_avec_l_offre_du_proposant() {
    Essai::with(catalogue())
        .given_no_previous_events()
        .when_async(proposer())
        .await
        .then_expect_events(vec![propose(offre_proposant())]);
}

#[tokio::test]
async fn modifier_remplace_l_offre_de_ce_cote() {
    Essai::with(catalogue())
        .given(vec![propose(offre_proposant())])
        .when_async(modifier(2, offre_destinataire()))
        .await
        .then_expect_events(vec![EvenementEchange::OffreModifiee {
            joueur_id: joueur(2),
            offre: offre_destinataire(),
        }]);
}

#[tokio::test]
async fn la_premiere_acceptation_ne_conclut_pas() {
    Essai::with(catalogue())
        .given(negocie())
        .when_async(accepter(2))
        .await
        .then_expect_events(vec![accepte(2)]);
}

#[tokio::test]
async fn la_seconde_acceptation_conclut_avec_les_deux_offres() {
    // Whoever accepts last, each offer stays with its owner.
    for (premier, second) in [(1, 2), (2, 1)] {
        Essai::with(catalogue())
            .given(avec(negocie(), [accepte(premier)]))
            .when_async(accepter(second))
            .await
            .then_expect_events(vec![accepte(second), conclu()]);
    }
}

#[tokio::test]
async fn la_conclusion_porte_les_offres_telles_que_modifiees() {
    let nouvelle = offre(25, &[]);
    Essai::with(catalogue())
        .given(avec(
            negocie(),
            [
                EvenementEchange::OffreModifiee {
                    joueur_id: joueur(1),
                    offre: nouvelle.clone(),
                },
                accepte(1),
            ],
        ))
        .when_async(accepter(2))
        .await
        .then_expect_events(vec![
            accepte(2),
            EvenementEchange::EchangeConclu {
                proposant: joueur(1),
                offre_proposant: nouvelle,
                destinataire: joueur(2),
                offre_destinataire: offre_destinataire(),
            },
        ]);
}

#[tokio::test]
async fn modifier_une_offre_annule_les_acceptations() {
    // One side accepted, then the other changed its offer: the other's acceptance must not
    // conclude on an offer the first side never saw.
    for (premier, modifie) in [(1, 2), (2, 1)] {
        Essai::with(catalogue())
            .given(avec(
                negocie(),
                [
                    accepte(premier),
                    EvenementEchange::OffreModifiee {
                        joueur_id: joueur(modifie),
                        offre: offre(3, &[("croc_de_loup", 3)]),
                    },
                ],
            ))
            .when_async(accepter(modifie))
            .await
            .then_expect_events(vec![accepte(modifie)]);
    }
}

#[tokio::test]
async fn apres_une_modification_celui_qui_avait_accepte_peut_accepter_a_nouveau() {
    Essai::with(catalogue())
        .given(avec(
            negocie(),
            [
                accepte(1),
                EvenementEchange::OffreModifiee {
                    joueur_id: joueur(1),
                    offre: offre(5, &[]),
                },
            ],
        ))
        .when_async(accepter(1))
        .await
        .then_expect_events(vec![accepte(1)]);
}

#[tokio::test]
async fn chaque_partie_peut_annuler_l_echange() {
    for n in [1, 2] {
        Essai::with(catalogue())
            .given(avec(negocie(), [accepte(1)]))
            .when_async(annuler(n))
            .await
            .then_expect_events(vec![EvenementEchange::EchangeAnnule { par: joueur(n) }]);
    }
}

#[tokio::test]
async fn un_echange_ou_seul_le_destinataire_offre_quelque_chose_peut_etre_accepte() {
    Essai::with(catalogue())
        .given(vec![
            propose(Offre::default()),
            EvenementEchange::OffreModifiee {
                joueur_id: joueur(2),
                offre: offre_destinataire(),
            },
        ])
        .when_async(accepter(1))
        .await
        .then_expect_events(vec![accepte(1)]);
}

#[tokio::test]
async fn un_echange_ouvert_a_son_echeance_expire() {
    // Exactly at the deadline, and after it; whoever had accepted.
    for (historique, maintenant) in [
        (negocie(), echeance()),
        (avec(negocie(), [accepte(2)]), echu()),
    ] {
        Essai::with(catalogue())
            .given(historique)
            .when_async(expirer(maintenant))
            .await
            .then_expect_events(vec![expire()]);
    }
}

#[tokio::test]
async fn expirer_un_echange_deja_clos_ne_fait_rien() {
    // The scheduler's message delivered again after the expiry, or a trade that ended
    // otherwise before its deadline came.
    for fin in [
        expire(),
        EvenementEchange::EchangeAnnule { par: joueur(1) },
        conclu(),
    ] {
        Essai::with(catalogue())
            .given(avec(negocie(), [fin]))
            .when_async(expirer(echu()))
            .await
            .then_expect_events(vec![]);
    }
}

#[tokio::test]
async fn un_echange_echu_peut_encore_etre_annule() {
    // Annuler carries no time: cancelling a due trade releases it as its expiry would.
    Essai::with(catalogue())
        .given(negocie())
        .when_async(annuler(2))
        .await
        .then_expect_events(vec![EvenementEchange::EchangeAnnule { par: joueur(2) }]);
}

// ------------------------------------------------------------------ refusals

#[tokio::test]
async fn expirer_avant_l_echeance_est_refuse() {
    Essai::with(catalogue())
        .given(negocie())
        .when_async(expirer(echeance() - TimeDelta::milliseconds(1)))
        .await
        .then_expect_error(ErreurEchange::PasEncoreEchu);
}

#[tokio::test]
async fn expirer_un_echange_qui_n_existe_pas_est_refuse() {
    Essai::with(catalogue())
        .given_no_previous_events()
        .when_async(expirer(echu()))
        .await
        .then_expect_error(ErreurEchange::EchangeInexistant);
}

#[tokio::test]
async fn apres_l_echeance_on_ne_modifie_ni_n_accepte_plus() {
    // The deadline decides, not the scheduler: between the deadline and the expiry, no late
    // acceptance concludes the trade.
    for commande in [
        CommandeEchange::Accepter {
            joueur_id: joueur(1),
            maintenant: echeance(),
        },
        CommandeEchange::Modifier {
            joueur_id: joueur(2),
            offre: offre(1, &[]),
            maintenant: echu(),
        },
    ] {
        Essai::with(catalogue())
            .given(avec(negocie(), [accepte(2)]))
            .when_async(commande)
            .await
            .then_expect_error(ErreurEchange::EchangeEchu);
    }
}

#[tokio::test]
async fn un_echange_expire_est_clos() {
    let historique = avec(negocie(), [expire()]);
    for commande in [modifier(1, offre(1, &[])), accepter(2), annuler(1)] {
        Essai::with(catalogue())
            .given(historique.clone())
            .when_async(commande)
            .await
            .then_expect_error(ErreurEchange::EchangeClos);
    }
}

#[tokio::test]
async fn proposer_un_echange_qui_existe_deja_est_refuse() {
    Essai::with(catalogue())
        .given(vec![propose(offre_proposant())])
        .when_async(proposer())
        .await
        .then_expect_error(ErreurEchange::DejaPropose);
}

#[tokio::test]
async fn agir_sur_un_echange_qui_n_existe_pas_est_refuse() {
    for commande in [modifier(1, offre_proposant()), accepter(1), annuler(1)] {
        Essai::with(catalogue())
            .given_no_previous_events()
            .when_async(commande)
            .await
            .then_expect_error(ErreurEchange::EchangeInexistant);
    }
}

#[tokio::test]
async fn proposer_un_echange_avec_soi_meme_est_refuse() {
    Essai::with(catalogue())
        .given_no_previous_events()
        .when_async(CommandeEchange::Proposer {
            echange_id: echange(1),
            proposant: joueur(1),
            destinataire: joueur(1),
            offre: offre_proposant(),
            echeance: echeance(),
        })
        .await
        .then_expect_error(ErreurEchange::AvecSoiMeme);
}

#[tokio::test]
async fn un_tiers_ne_peut_pas_agir_sur_l_echange() {
    for commande in [modifier(3, offre(1, &[])), accepter(3), annuler(3)] {
        Essai::with(catalogue())
            .given(negocie())
            .when_async(commande)
            .await
            .then_expect_error(ErreurEchange::PasPartie);
    }
}

#[tokio::test]
async fn un_echange_conclu_est_clos() {
    let historique = avec(negocie(), [accepte(1), accepte(2), conclu()]);
    for commande in [
        modifier(1, offre(1, &[])),
        modifier(2, offre(1, &[])),
        accepter(1),
        annuler(2),
    ] {
        Essai::with(catalogue())
            .given(historique.clone())
            .when_async(commande)
            .await
            .then_expect_error(ErreurEchange::EchangeClos);
    }
}

#[tokio::test]
async fn un_echange_annule_est_clos() {
    let historique = avec(
        negocie(),
        [EvenementEchange::EchangeAnnule { par: joueur(2) }],
    );
    for commande in [
        modifier(1, offre(1, &[])),
        accepter(1),
        accepter(2),
        annuler(1),
    ] {
        Essai::with(catalogue())
            .given(historique.clone())
            .when_async(commande)
            .await
            .then_expect_error(ErreurEchange::EchangeClos);
    }
}

#[tokio::test]
async fn accepter_deux_fois_est_refuse() {
    Essai::with(catalogue())
        .given(avec(negocie(), [accepte(2)]))
        .when_async(accepter(2))
        .await
        .then_expect_error(ErreurEchange::DejaAccepte);
}

#[tokio::test]
async fn accepter_un_echange_ou_personne_n_offre_rien_est_refuse() {
    let historiques = [
        vec![propose(Offre::default())],
        // The only offer was withdrawn.
        vec![
            propose(offre_proposant()),
            EvenementEchange::OffreModifiee {
                joueur_id: joueur(1),
                offre: Offre::default(),
            },
        ],
    ];
    for historique in historiques {
        Essai::with(catalogue())
            .given(historique)
            .when_async(accepter(2))
            .await
            .then_expect_error(ErreurEchange::EchangeVide);
    }
}

#[test]
fn une_offre_mal_orthographiee_est_refusee_et_non_lue_vide() {
    assert!(serde_json::from_str::<Offre>(r#"{"gold":5}"#).is_err());
    let offre: Offre = serde_json::from_str(r#"{"or":5}"#).expect("offre");
    assert!(!offre.est_vide());
}
