// Errors as a person can read them. The server gives a stable code (REST `erreur.code`,
// JSON-RPC `error.data.code`, doc/protocole.md §2 and §5) and a message with the details;
// the client turns the code into a sentence and keeps the server's details beside it.

export class ErreurJeu extends Error {
  constructor(
    /** The stable code: `OR_INSUFFISANT`, `JETON_EXPIRE`, `CONNEXION_PERDUE`… */
    readonly code: string,
    /** The server's own message (French, with the numbers). */
    readonly detail: string,
    /** JSON-RPC `error.code` (−32010 for a game refusal), or the HTTP status for REST. */
    readonly statut = 0,
    readonly donnees: Record<string, unknown> = {},
  ) {
    super(detail || code);
  }

  /** One sentence for the player. */
  get humain(): string {
    return messageHumain(this);
  }
}

type Phrase = string | ((e: ErreurJeu) => string);

const PHRASES: Record<string, Phrase> = {
  // Accounts and sessions (REST)
  LOGIN_DEJA_PRIS: 'Ce nom de compte est déjà pris : choisissez-en un autre.',
  IDENTIFIANTS_INVALIDES: 'Nom de compte ou mot de passe incorrect.',
  JETON_INVALIDE: 'Votre session n’est plus valable : reconnectez-vous.',
  JETON_REUTILISE: 'Par sécurité, votre session a été révoquée : reconnectez-vous.',
  JETON_EXPIRE: 'Votre session a expiré : reconnectez-vous.',
  NON_AUTHENTIFIE: 'Vous n’êtes pas connecté.',
  TROP_DE_REQUETES: 'Trop de tentatives d’un coup : patientez quelques secondes.',
  SERVICE_SATURE: 'Le serveur est très sollicité : réessayez dans un instant.',
  MESSAGE_TROP_GRAND: 'Ce message est trop long pour le serveur.',
  ORIGINE_REFUSEE: 'Ce site n’est pas autorisé à se connecter au serveur de jeu.',
  ERREUR_INTERNE: (e) => `Le serveur a eu un problème (${e.detail}). Réessayez.`,
  CONNEXION_PERDUE: 'La connexion au serveur est perdue : reconnexion en cours…',
  RESEAU: 'Le serveur ne répond pas : vérifiez votre connexion.',
  DELAI_DEPASSE: 'Le serveur met trop de temps à répondre : réessayez.',
  PARAMETRES_INVALIDES: (e) => `Saisie refusée : ${e.detail.replace(/^paramètres invalides : /, '')}`,
  INTERDIT: 'Vous n’avez pas le droit de faire cela.',
  INTROUVABLE: (e) => `Introuvable : ${e.detail}`,
  CONFLIT: 'Quelqu’un a agi en même temps : réessayez.',
  COMMANDE_REUTILISEE: 'Cette action a déjà été envoyée pour autre chose.',
  // Characters
  NOM_DEJA_PRIS: 'Ce nom de personnage existe déjà dans le monde.',
  TROP_DE_PERSONNAGES: (e) => `Un compte a au plus ${e.donnees['max'] ?? 5} personnages.`,
  // Combat
  DEJA_EN_COMBAT: 'Ce personnage est déjà engagé dans un combat.',
  RENCONTRE_INCONNUE: 'Cette rencontre n’existe pas.',
  RENCONTRE_HORS_ZONE: 'Ces monstres ne sont pas dans votre zone.',
  HORS_DE_LA_ZONE: (e) => `Ce combat a lieu dans une autre zone : ${e.detail}`,
  COMBAT_INEXISTANT: 'Ce combat n’existe pas.',
  COMBAT_DEJA_LANCE: 'Le combat a déjà commencé : trop tard pour le rejoindre.',
  COMBAT_NON_LANCE: 'Le combat n’a pas encore commencé.',
  COMBAT_TERMINE: 'Ce combat est terminé.',
  COMBAT_ANNULE: 'Ce combat a été annulé.',
  GROUPE_COMPLET: 'Le groupe est complet (5 combattants au plus).',
  DEJA_PARTICIPANT: 'Vous participez déjà à ce combat.',
  SEUL_L_INITIATEUR_PEUT_LANCER: 'Seul celui qui a préparé le combat peut le lancer.',
  PAS_PARTICIPANT: 'Vous ne participez pas à ce combat.',
  JOUEUR_KO: 'Votre personnage est KO : il ne peut plus agir.',
  DEJA_AGI: 'Vous avez déjà agi pendant ce tour : attendez le suivant.',
  MONSTRE_INCONNU: 'Ce monstre n’existe pas.',
  MONSTRE_DEJA_VAINCU: 'Ce monstre est déjà à terre : choisissez-en un autre.',
  NE_PEUT_PAS_SOIGNER: 'Votre classe ne sait pas soigner.',
  CIBLE_HORS_COMBAT: 'Cette cible ne participe pas au combat.',
  CIBLE_KO: 'On ne peut pas soigner un combattant KO.',
  // Quests
  QUETE_INCONNUE: 'Cette quête n’existe pas.',
  NIVEAU_INSUFFISANT: (e) => `Niveau insuffisant : ${e.detail}.`,
  PREREQUIS_MANQUANT: (e) => `Il faut d’abord terminer une autre quête : ${e.detail}.`,
  DEJA_EN_COURS: 'Cette quête est déjà dans votre journal.',
  DEJA_TERMINEE: 'Vous avez déjà accompli cette quête.',
  PAS_EN_COURS: 'Cette quête n’est pas en cours.',
  // Economy
  MARCHAND_INCONNU: 'Ce marchand n’existe pas.',
  MARCHAND_AILLEURS: 'Ce marchand tient boutique dans une autre zone.',
  ARTICLE_NON_VENDU: 'Ce marchand ne vend pas cet objet.',
  ARTICLE_NON_RACHETE: 'Ce marchand ne rachète pas cet objet.',
  RECETTE_INCONNUE: 'Cette recette n’existe pas.',
  OR_INSUFFISANT: (e) => `Pas assez d’or : ${e.detail.replace(/^or insuffisant : /, '')}.`,
  ITEMS_INSUFFISANTS: (e) => `Il vous manque des objets : ${e.detail}.`,
  INVENTAIRE_PLEIN: 'Votre sac est plein (24 emplacements).',
  MONTANT_TROP_GRAND: 'Ce montant est trop grand.',
  AVEC_SOI_MEME: 'On ne peut pas faire cela avec soi-même.',
  ECHANGE_INEXISTANT: 'Cet échange n’existe pas.',
  PAS_PARTIE: 'Vous ne faites pas partie de cet échange.',
  ECHANGE_CLOS: 'Cet échange est déjà conclu, annulé ou expiré.',
  ECHANGE_ECHU: 'Trop tard : cet échange a passé son échéance, il expire.',
  DEJA_ACCEPTE: 'Vous avez déjà accepté cet échange.',
  ECHANGE_VIDE: 'Personne n’offre rien : ajoutez quelque chose à l’échange.',
  // World and chat
  HORS_ZONE: 'Impossible d’aller là : c’est hors de la carte.',
  TROP_RAPIDE: 'Doucement ! Vous vous déplacez trop vite.',
  ZONE_INCONNUE: 'Cette zone n’existe plus.',
  PAS_DE_PORTAIL: 'Aucun portail de cette zone ne mène là.',
  LOIN_DU_PORTAIL: (e) => `Approchez-vous du portail : ${e.detail}.`,
  MESSAGE_VIDE: 'Le message est vide.',
  MESSAGE_TROP_LONG: 'Message trop long (500 caractères au plus).',
  TROP_DE_MESSAGES: (e) => `Vous parlez trop vite : ${e.detail}.`,
  MUET: (e) => `Vous êtes réduit au silence : ${e.detail}.`,
  PAS_MEMBRE: 'Vous n’êtes pas membre de ce canal.',
  CURSEUR_INVALIDE: 'Historique illisible : rechargez le canal.',
  // Moderation (§4.10)
  COMPTE_BANNI: (e) => phraseBannissement(
    String(e.donnees['raison'] ?? e.detail.replace(/^compte banni : /, '')),
    (e.donnees['jusqu_a'] as string | null | undefined) ?? null,
  ),
  PAS_BANNI: 'Ce compte n’est pas banni : rien à rétablir.',
  ITEM_INCONNU: (e) => `Cet objet n’existe pas au catalogue : ${e.detail}.`,
  SIGNALEMENT_DE_SOI: 'On ne peut pas signaler un personnage de son propre compte.',
  SIGNALEMENT_DEJA_TRAITE: 'Ce signalement a déjà été traité.',
};

/** A ban as the banned player reads it: who, why, until when. */
export function phraseBannissement(raison: string | null, jusquA: string | null): string {
  const fin = jusquA
    ? `jusqu’au ${new Date(jusquA).toLocaleString('fr-FR', { dateStyle: 'long', timeStyle: 'short' })}`
    : 'sans date de fin';
  return `Votre compte a été banni par un maître du jeu, ${fin}${raison ? ` : « ${raison} »` : ''}.`;
}

export function messageHumain(e: ErreurJeu): string {
  const p = PHRASES[e.code];
  if (typeof p === 'function') return p(e);
  if (p) return p;
  // An unknown code: the server's message is French and meant for people.
  const d = e.detail || e.code;
  return d.charAt(0).toUpperCase() + d.slice(1) + '.';
}

/** Any thrown thing as an ErreurJeu. */
export function enErreurJeu(x: unknown): ErreurJeu {
  if (x instanceof ErreurJeu) return x;
  if (x instanceof Error) return new ErreurJeu('RESEAU', x.message);
  return new ErreurJeu('RESEAU', String(x));
}
