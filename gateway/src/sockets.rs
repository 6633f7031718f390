//! The sockets of this instance, by account: where every push ends, whatever its source (the
//! store's events followed by [`crate::fil`], the moves and chat messages fanned out over NATS
//! by [`crate::diffusion`]). A push never waits for a socket: each has a bounded queue, and a
//! socket that lets it fill is told to close.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

/// A socket's subscription.
#[derive(Debug)]
struct Abonne {
    session: u64,
    file: mpsc::Sender<Arc<str>>,
    trop_lent: Arc<Notify>,
}

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

    /// Queues `message` on every socket of this account, as [`Sockets::pousser`] does.
    pub fn pousser_au_compte(&self, compte: Uuid, message: &Arc<str>) {
        let abonnes = self
            .abonnes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for a in abonnes.get(&compte).into_iter().flatten() {
            self.envoyer(a, message);
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
}
