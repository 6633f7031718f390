// Accounts and sessions over REST (doc/protocole.md §2): register, log in, refresh the access
// token before it expires (the refresh token is single-use and rotates), log out.
import { Injectable, signal } from '@angular/core';
import { ErreurJeu } from './erreurs';

export interface Session {
  login: string;
  compte_id: string;
  admin: boolean;
  jeton_acces: string;
  jeton_rafraichissement: string;
  /** Epoch ms when the access token expires. */
  expire_a: number;
}

const CLE = 'mmo.session';

@Injectable({ providedIn: 'root' })
export class SessionService {
  readonly session = signal<Session | null>(lire());
  /** Called with each new access token (the socket re-authenticates with it). */
  surNouveauJeton: (jeton: string) => void = () => {};
  private minuteur?: ReturnType<typeof setTimeout>;
  private enCours?: Promise<Session>;

  constructor() {
    if (this.session()) this.planifier();
  }

  async inscrire(login: string, motDePasse: string): Promise<void> {
    await post('/api/comptes', { login, mot_de_passe: motDePasse });
  }

  async connecter(login: string, motDePasse: string): Promise<Session> {
    const r = await post('/api/sessions', { login, mot_de_passe: motDePasse });
    return this.installer(login, r);
  }

  /** A fresh access token (one refresh at a time: the refresh token is single-use). */
  rafraichir(): Promise<Session> {
    const s = this.session();
    if (!s) return Promise.reject(new ErreurJeu('NON_AUTHENTIFIE', 'pas de session'));
    this.enCours ??= post('/api/sessions/rafraichir', { jeton_rafraichissement: s.jeton_rafraichissement })
      .then((r) => this.installer(s.login, r))
      .catch((e) => {
        if (e instanceof ErreurJeu && e.statut === 401) this.oublier();
        throw e;
      })
      .finally(() => (this.enCours = undefined));
    return this.enCours;
  }

  /** A token valid for at least 30 more seconds (refreshing it if needed). */
  async jetonValide(): Promise<string> {
    const s = this.session();
    if (!s) throw new ErreurJeu('NON_AUTHENTIFIE', 'pas de session');
    if (s.expire_a - Date.now() > 30_000) return s.jeton_acces;
    return (await this.rafraichir()).jeton_acces;
  }

  async deconnecter(): Promise<void> {
    const s = this.session();
    this.oublier();
    if (s) await post('/api/sessions', { jeton_rafraichissement: s.jeton_rafraichissement }, 'DELETE').catch(() => {});
  }

  oublier(): void {
    clearTimeout(this.minuteur);
    sessionStorage.removeItem(CLE);
    this.session.set(null);
  }

  private installer(login: string, r: Record<string, unknown>): Session {
    const s: Session = {
      login,
      compte_id: String(r['compte_id']),
      admin: Boolean(r['admin']),
      jeton_acces: String(r['jeton_acces']),
      jeton_rafraichissement: String(r['jeton_rafraichissement']),
      expire_a: Date.now() + Number(r['expire_dans']) * 1000,
    };
    sessionStorage.setItem(CLE, JSON.stringify(s));
    this.session.set(s);
    this.planifier();
    this.surNouveauJeton(s.jeton_acces);
    return s;
  }

  /** Refresh one minute before expiry (or at 80 % of a short lifetime). */
  private planifier(): void {
    clearTimeout(this.minuteur);
    const s = this.session();
    if (!s) return;
    const reste = s.expire_a - Date.now();
    const dans = Math.max(1_000, Math.min(reste - 60_000, reste * 0.8));
    this.minuteur = setTimeout(() => this.rafraichir().catch(() => {}), dans);
  }
}

function lire(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(CLE) ?? 'null') as Session | null;
    return s && s.jeton_rafraichissement ? s : null;
  } catch {
    return null;
  }
}

async function post(chemin: string, corps: unknown, methode = 'POST'): Promise<Record<string, unknown>> {
  let rep: Response;
  try {
    rep = await fetch(chemin, {
      method: methode,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(corps),
    });
  } catch (e) {
    throw new ErreurJeu('RESEAU', String(e));
  }
  if (rep.status === 204) return {};
  const texte = await rep.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(texte); } catch { /* not JSON */ }
  if (!rep.ok) {
    const err = (json['erreur'] ?? {}) as { code?: string; message?: string };
    throw new ErreurJeu(err.code ?? `HTTP_${rep.status}`, err.message ?? texte, rep.status);
  }
  return json;
}
