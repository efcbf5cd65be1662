/**
 * Short names for the API's types. Every one is taken from the generated schema
 * (`schema.d.ts`), never written by hand, so a change to the API is a type error here.
 */

import type { components, paths } from "./schema";

type Schemas = components["schemas"];

export type { paths };

export type Me = Schemas["Me"];
export type SignupResult = Schemas["SignupResult"];
export type FreeTryClip = Schemas["FreeTryClip"];
export type FreeTryUpload = Schemas["FreeTryUpload"];
export type ProjectPhotosUpload = Schemas["ProjectPhotosUpload"];
export type MusicUpload = Schemas["MusicUpload"];
/** RFC 9457 problem details, the body of every API error. */
export type Problem = Schemas["Problem"];
export type ClipStatus = Schemas["ClipStatus"];
export type ClipView = Schemas["ClipView"];
export type ProjectView = Schemas["ProjectView"];
export type ProjectSummary = Schemas["ProjectSummary"];
export type ProjectMusic = Schemas["ProjectMusic"];
export type ProjectStyle = Schemas["ProjectStyle"];
export type Transition = Schemas["Transition"];
export type TransitionKind = Transition["kind"];
export type Aspect = ProjectView["aspect"];
export type UploadOutcome = Schemas["UploadOutcome"];
export type Pack = Schemas["Pack"];
export type CreditEntry = Schemas["CreditEntry"];
export type CreditKind = Schemas["CreditKind"];

export type Track = Schemas["TrackView"];
export type TrackStatus = Schemas["TrackStatus"];
export type Render = Schemas["RenderView"];
export type RenderStatus = Render["status"];
export type PublicVideo = Schemas["PublicVideo"];
export type ShareResult = Schemas["ShareResult"];

export type ClipStatusEvent = Schemas["ClipStatusEvent"];
export type ClipProgressEvent = Schemas["ClipProgressEvent"];
export type RenderStatusEvent = Schemas["RenderStatusEvent"];
export type RenderProgressEvent = Schemas["RenderProgressEvent"];
export type CreditsChangedEvent = Schemas["CreditsChangedEvent"];
export type MusicTrackStatusEvent = Schemas["MusicTrackStatusEvent"];
export type StreamResetEvent = Schemas["StreamResetEvent"];

/** Every message `GET /api/events` sends, told apart by `type` (also the SSE event name). */
export type LiveEvent =
  | ClipStatusEvent
  | ClipProgressEvent
  | RenderStatusEvent
  | RenderProgressEvent
  | CreditsChangedEvent
  | MusicTrackStatusEvent
  | StreamResetEvent;
export type SignedInSession = Schemas["SignedInSession"];
