import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';
import { SessionService } from './session.service';

/** The game's screens need a session; without one, the login screen. */
export const avecSession: CanActivateFn = () =>
  inject(SessionService).session() ? true : inject(Router).parseUrl('/connexion');
