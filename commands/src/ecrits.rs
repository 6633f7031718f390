//! Where in the global order a request's writes ended: the position of the last event its
//! commands wrote (or, for a command already applied, wrote at their first application). A
//! command's answer carries it so that its client can ask a read to be at least that fresh
//! (read-your-writes, doc/protocole.md §3.8).
//!
//! A request may run several commands through its service (a character and its inventory, a
//! trade and both inventories), and each service returns what its caller needs of them, not
//! where they were written. Rather than threading a position through every service's return
//! type, [`Depot::executer`](crate::Depot::executer) notes each write in a task-local slot that
//! [`suivre`] opens around the request: the highest position noted is the request's. Outside
//! [`suivre`] (process managers, the round timer) nothing is noted.

use std::cell::Cell;

use magasin::lecteur::PositionGlobale;

tokio::task_local! {
    static DERNIERE: Cell<Option<PositionGlobale>>;
}

/// Runs `travail` and returns, with its output, the position of the last event the commands it
/// ran wrote or had first written (`None` if they wrote nothing). Only writes made on this task
/// count: a service that spawned a task would lose its writes (none does).
pub async fn suivre<F: Future>(travail: F) -> (F::Output, Option<PositionGlobale>) {
    DERNIERE
        .scope(Cell::new(None), async move {
            let sortie = travail.await;
            (sortie, DERNIERE.with(Cell::get))
        })
        .await
}

/// A command's events are in the store up to `position`.
pub(crate) fn noter(position: PositionGlobale) {
    // Outside `suivre` there is nobody to tell.
    let _ = DERNIERE.try_with(|derniere| {
        derniere.set(Some(derniere.get().map_or(position, |d| d.max(position))));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(transaction: i64, position: i64) -> PositionGlobale {
        PositionGlobale {
            transaction,
            position,
        }
    }

    #[tokio::test]
    async fn la_derniere_position_est_la_plus_haute_notee_dans_l_ordre_global() {
        let ((), derniere) = suivre(async {
            noter(p(12, 40));
            noter(p(13, 2));
            noter(p(12, 90));
        })
        .await;
        assert_eq!(derniere, Some(p(13, 2)));
        let ((), rien) = suivre(async {}).await;
        assert_eq!(rien, None);
    }

    #[tokio::test]
    async fn hors_d_un_suivi_noter_ne_fait_rien() {
        noter(p(1, 1));
        let ((), derniere) = suivre(async {}).await;
        assert_eq!(derniere, None);
    }
}
