// What Berth has in place of containerd's plugins, found by checking this host and store (the
// answer of containerd's introspection service, for `ctr plugins ls`).
export {listPlugins, pluginStatus, type PluginInfo, type PluginStatus} from './plugins.js'
