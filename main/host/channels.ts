/**
 * The IPC channel names between the preload and the Electron main process; the only place they are
 * spelled. Backend calls share one generic channel (method and params travel as data and are
 * validated by the backend), like VS Code's ProxyChannel, rather than one channel per method.
 */
export const CHANNELS = {
  /** invoke(method, params) → ApiReply */
  call: 'fusionscope:api-call',
  /** main → renderer: ApiEvent (backend events and menu commands) */
  event: 'fusionscope:api-event',
  /** invoke(ExportedFile) → chosen path | null */
  saveFile: 'fusionscope:save-file',
  /** invoke(title) → chosen folder | null */
  chooseFolder: 'fusionscope:choose-folder',
} as const;
