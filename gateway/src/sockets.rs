//! The sockets of this instance, by account: where every push ends, whatever its source (the
//! store's events followed by [`crate::fil`], the moves and chat messages fanned out over NATS
//! by [`crate::diffusion`]). A push never waits for a socket: each has a bounded queue, and a
//! socket that lets it fill is told to close.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use domain::ids::JoueurId;
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

/// A socket's subscription.
#[derive(Debug)]
struct Abonne {
    session: u64,
    file: mpsc::Sender<Arc<str>>,
    trop_lent: Arc<Notify>,
    /// Set when a game master sends the socket away (a ban, a kick).
    conge: Arc<Conge>,
    /// The characters this socket plays (those its calls acted for), latest last: the world
    /// pushes of a character go to the sockets that play it, or to all the account's sockets
    /// when none does.
    joues: Vec<JoueurId>,
}

/// Why a game master sends a socket away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motif {
    /// The account is banned.
    Banni,
    /// The account was kicked.
    Expulse,
}

/// A socket's notice to leave: the reason, and a wake-up that is kept if the socket is not
/// waiting yet.
#[derive(Debug, Default)]
pub struct Conge {
    motif: Mutex<Option<Motif>>,
    reveil: Notify,
}

/// Characters one socket remembers playing (an account has at most a handful).
const JOUES_MAX: usize = 8;

/// The sockets, by account.
#[derive(Debug, Default)]
pub struct Sockets {
    abonnes: Mutex<HashMap<Uuid, Vec<Abonne>>>,
    suivante: AtomicU64,
    /// Pushes dropped because a socket's queue was full (that socket is then closed).
    pub abandons: AtomicU64,
}

/// A socket's place in [`Sockets`]: unsubscribes when dropped.
#[derive(Debug)]
pub struct Abonnement {
    sockets: Arc<Sockets>,
    compte: Uuid,
    session: u64,
}

impl Abonnement {
    /// The socket plays this character (one of its account's: the call that named it
    /// succeeded).
    pub fn jouer(&self, joueur: JoueurId) {
        let mut abonnes = self
            .sockets
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(a) = abonnes
            .get_mut(&self.compte)
            .and_then(|l| l.iter_mut().find(|a| a.session == self.session))
        else {
            return;
        };
        if a.joues.last() == Some(&joueur) {
            return;
        }
        a.joues.retain(|j| *j != joueur);
        if a.joues.len() >= JOUES_MAX {
            a.joues.remove(0);
        }
        a.joues.push(joueur);
    }
}

impl Abonnement {
    /// Waits until a game master sends this socket away; why.
    pub async fn conge(&self) -> Motif {
        let conge = {
            let abonnes = self
                .sockets
                .abonnes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            abonnes
                .get(&self.compte)
                .and_then(|l| l.iter().find(|a| a.session == self.session))
                .map(|a| Arc::clone(&a.conge))
        };
        let Some(conge) = conge else {
            return std::future::pending().await;
        };
        loop {
            if let Some(motif) = *conge
                .motif
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
            {
                return motif;
            }
            conge.reveil.notified().await;
        }
    }
}

impl Drop for Abonnement {
    fn drop(&mut self) {
        let mut abonnes = self
            .sockets
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(liste) = abonnes.get_mut(&self.compte) {
            liste.retain(|a| a.session != self.session);
            if liste.is_empty() {
                abonnes.remove(&self.compte);
            }
        }
    }
}

impl Sockets {
    /// Subscribes a socket to its account's events: `file` is its bounded outgoing queue,
    /// `trop_lent` is notified when a push found it full.
    pub fn abonner(
        self: &Arc<Self>,
        compte: Uuid,
        file: mpsc::Sender<Arc<str>>,
        trop_lent: Arc<Notify>,
    ) -> Abonnement {
        let session = self.suivante.fetch_add(1, Ordering::Relaxed);
        self.abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(compte)
            .or_default()
            .push(Abonne {
                session,
                file,
                trop_lent,
                conge: Arc::default(),
                joues: Vec::new(),
            });
        Abonnement {
            sockets: Arc::clone(self),
            compte,
            session,
        }
    }

    /// Whether any socket listens for one of these accounts.
    pub fn ecoute(&self, comptes: &HashSet<Uuid>) -> bool {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        comptes.iter().any(|c| abonnes.contains_key(c))
    }

    /// Sends every socket of this account on this instance away (they close with the code of
    /// `motif`).
    pub fn congedier(&self, compte: Uuid, motif: Motif) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for a in abonnes.get(&compte).into_iter().flatten() {
            *a.conge
                .motif
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(motif);
            a.conge.reveil.notify_one();
        }
    }

    /// Whether any socket of this account is open on this instance.
    pub fn connecte(&self, compte: Uuid) -> bool {
        self.abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&compte)
    }

    /// Queues `message` on every socket of this instance (the `monde` chat channel), as
    /// [`Sockets::pousser`] does.
    pub fn pousser_a_tous(&self, message: &Arc<str>) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for a in abonnes.values().flatten() {
            self.envoyer(a, message);
        }
    }

    fn envoyer(&self, a: &Abonne, message: &Arc<str>) {
        if a.file.try_send(Arc::clone(message)).is_err() {
            self.abandons.fetch_add(1, Ordering::Relaxed);
            a.trop_lent.notify_one();
        }
    }

    /// Queues `message`, a world push for `joueur`, on the sockets of its account that play
    /// it, or on all of them when none does, as [`Sockets::pousser`] does.
    pub fn pousser_au_personnage(&self, compte: Uuid, joueur: JoueurId, message: &Arc<str>) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(liste) = abonnes.get(&compte) else {
            return;
        };
        let le_jouent = liste.iter().any(|a| a.joues.contains(&joueur));
        for a in liste {
            if !le_jouent || a.joues.contains(&joueur) {
                self.envoyer(a, message);
            }
        }
    }

    /// Queues `message` on every socket of these accounts, never waiting: a full queue marks
    /// its socket as too slow.
    pub fn pousser(&self, comptes: &HashSet<Uuid>, message: &Arc<str>) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for compte in comptes {
            for a in abonnes.get(compte).into_iter().flatten() {
                self.envoyer(a, message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn un_abonne_trop_lent_est_signale_sans_bloquer_les_autres() {
        let d = Arc::new(Sockets::default());
        let compte = Uuid::from_u64_pair(1, 1);
        let (tx_lent, _rx_lent) = mpsc::channel(1);
        let (tx_vif, mut rx_vif) = mpsc::channel(8);
        let (lent, vif) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let _a = d.abonner(compte, tx_lent, Arc::clone(&lent));
        let b = d.abonner(compte, tx_vif, Arc::clone(&vif));
        let comptes = HashSet::from([compte]);
        let m: Arc<str> = "m".into();
        d.pousser(&comptes, &m);
        d.pousser(&comptes, &m);
        assert_eq!(d.abandons.load(Ordering::Relaxed), 1);
        tokio::time::timeout(Duration::from_secs(1), lent.notified())
            .await
            .expect("le lent est prévenu");
        assert_eq!(rx_vif.recv().await.as_deref(), Some("m"));
        assert_eq!(rx_vif.recv().await.as_deref(), Some("m"));
        drop(b);
        assert!(d.ecoute(&comptes), "le premier abonné reste");
        assert!(d.connecte(compte));
        let (tx_autre, mut rx_autre) = mpsc::channel(8);
        let _c = d.abonner(Uuid::from_u64_pair(1, 2), tx_autre, Arc::new(Notify::new()));
        d.pousser_a_tous(&"à tous".into());
        assert_eq!(rx_autre.recv().await.as_deref(), Some("à tous"));
    }

    #[tokio::test]
    async fn une_poussee_du_monde_va_aux_sockets_qui_jouent_le_personnage() {
        let sockets = Arc::new(Sockets::default());
        let compte = Uuid::from_u64_pair(1, 1);
        let joueur = |n| JoueurId::from_uuid(Uuid::from_u64_pair(2, n));
        let mut files = Vec::new();
        let mut abonnements = Vec::new();
        for _ in 0..3 {
            let (tx, rx) = mpsc::channel(8);
            abonnements.push(sockets.abonner(compte, tx, Arc::new(Notify::new())));
            files.push(rx);
        }
        // Socket 0 plays 1, socket 1 plays 2; socket 2 plays nobody yet.
        abonnements[0].jouer(joueur(1));
        abonnements[1].jouer(joueur(2));
        sockets.pousser_au_personnage(compte, joueur(1), &Arc::from("pour 1"));
        assert_eq!(&*files[0].try_recv().expect("socket 0"), "pour 1");
        assert!(files[1].try_recv().is_err(), "socket 1 joue un autre");
        assert!(files[2].try_recv().is_err(), "une socket le joue déjà");
        // Nobody plays 3: every socket of the account gets it.
        sockets.pousser_au_personnage(compte, joueur(3), &Arc::from("pour 3"));
        for f in &mut files {
            assert_eq!(&*f.try_recv().expect("toutes"), "pour 3");
        }
        // Socket 1 switches to 1 (the last played comes last); both now play 1.
        abonnements[1].jouer(joueur(1));
        sockets.pousser_au_personnage(compte, joueur(1), &Arc::from("encore"));
        assert!(files[0].try_recv().is_ok() && files[1].try_recv().is_ok());
        assert!(files[2].try_recv().is_err());
    }
}
