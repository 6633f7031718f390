//! Given/when/then tests of the `Moderation` aggregate.

use chrono::Duration;
use cqrs_es::test::TestFramework;

use super::{CommandeModeration, ErreurModeration, EvenementModeration, Moderation};
use crate::essais::{catalogue, code, joueur, t0};
use crate::valeurs::{Position, Raison};

type Essai = TestFramework<Moderation>;

fn raison(s: &str) -> Raison {
    Raison::parse(s).expect("raison de test valide")
}

fn banni(jusqu_a: Option<chrono::DateTime<chrono::Utc>>) -> EvenementModeration {
    EvenementModeration::CompteBanni {
        raison: raison("triche"),
        jusqu_a,
    }
}

#[tokio::test]
async fn un_bannissement_est_toujours_prononce_et_remplace_celui_en_vigueur() {
    Essai::with(catalogue())
        .given(vec![banni(Some(t0()))])
        .when_async(CommandeModeration::Bannir {
            raison: raison("triche"),
            jusqu_a: None,
        })
        .await
        .then_expect_events(vec![banni(None)]);
}

#[tokio::test]
async fn un_compte_banni_est_retabli() {
    Essai::with(catalogue())
        .given(vec![banni(None)])
        .when_async(CommandeModeration::Retablir {
            raison: raison("erreur de jugement"),
            le: t0(),
        })
        .await
        .then_expect_events(vec![EvenementModeration::CompteRetabli {
            raison: raison("erreur de jugement"),
        }]);
}

#[tokio::test]
async fn on_ne_retablit_pas_un_compte_qui_n_est_pas_banni() {
    Essai::with(catalogue())
        .given_no_previous_events()
        .when_async(CommandeModeration::Retablir {
            raison: raison("pardon"),
            le: t0(),
        })
        .await
        .then_expect_error(ErreurModeration::PasBanni);
    let retabli = EvenementModeration::CompteRetabli {
        raison: raison("pardon"),
    };
    Essai::with(catalogue())
        .given(vec![banni(None), retabli])
        .when_async(CommandeModeration::Retablir {
            raison: raison("encore"),
            le: t0(),
        })
        .await
        .then_expect_error(ErreurModeration::PasBanni);
}

#[tokio::test]
async fn un_bannissement_echu_n_est_plus_en_vigueur() {
    let fin = t0() + Duration::hours(1);
    let mut m = Moderation::default();
    cqrs_es::Aggregate::apply(&mut m, banni(Some(fin)));
    assert!(m.banni_a(t0()));
    assert!(!m.banni_a(fin));
    Essai::with(catalogue())
        .given(vec![banni(Some(fin))])
        .when_async(CommandeModeration::Retablir {
            raison: raison("déjà fini"),
            le: fin + Duration::seconds(1),
        })
        .await
        .then_expect_error(ErreurModeration::PasBanni);
}

#[tokio::test]
async fn une_expulsion_un_muselage_et_un_deplacement_sont_consignes_avec_leur_raison() {
    let position = Position::parse(10.0, 20.0).expect("position");
    for (commande, attendu) in [
        (
            CommandeModeration::Expulser {
                raison: raison("insultes"),
            },
            EvenementModeration::CompteExpulse {
                raison: raison("insultes"),
            },
        ),
        (
            CommandeModeration::Museler {
                joueur_id: joueur(1),
                raison: raison("spam"),
                duree_s: 60,
            },
            EvenementModeration::PersonnageMusele {
                joueur_id: joueur(1),
                raison: raison("spam"),
                duree_s: 60,
            },
        ),
        (
            CommandeModeration::Deplacer {
                joueur_id: joueur(1),
                zone: code("plaine_verte"),
                position,
                raison: raison("coincé dans un mur"),
            },
            EvenementModeration::PersonnageDeplace {
                joueur_id: joueur(1),
                zone: code("plaine_verte"),
                position,
                raison: raison("coincé dans un mur"),
            },
        ),
    ] {
        Essai::with(catalogue())
            .given_no_previous_events()
            .when_async(commande)
            .await
            .then_expect_events(vec![attendu]);
    }
}
